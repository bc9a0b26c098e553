// What the core emits: replies, deliveries (with their per-turn burst accounting), the
// `continue` request, released content frames and rate-limited log lines. The lowest layer
// of src/broker/core/: everything else sends through these functions.
import { deliverHeader, stringField } from "../../proto/splice.ts";
import type { Conn } from "../model/conn.ts";
import { NO_CONTENT, type StoredMessage, contentBytes } from "../model/message.ts";
import type { LogLevel } from "../types.ts";
import type { CoreState } from "./state.ts";

/** Answer `conn` with a one-frame command (OK, ERROR, PONG...). */
export function reply(s: CoreState, conn: Conn, header: Uint8Array): void {
  s.out.push({ type: "send", conn: conn.key, frames: [header] });
}

/** Spend credit and emit a delivery. */
export function deliver(s: CoreState, conn: Conn, frames: Uint8Array[]): void {
  if (conn.creditAware) conn.credit--;
  s.counters.delivered++;
  s.out.push({ type: "send", conn: conn.key, frames });
  if (conn.burst === 0) s.bursting.push(conn);
  conn.burst++;
  conn.burstBytes += contentBytes(frames);
  if (!conn.burstFull && (conn.burst >= s.burstMessages || conn.burstBytes >= s.burstBytes)) {
    conn.burstFull = true;
    s.stalled.add(conn);
    askContinue(s);
  }
}

/** Ask the adapter for a `continue` event (once until it comes back): work waits for a later turn. */
export function askContinue(s: CoreState): void {
  if (s.continueAsked) return;
  s.continueAsked = true;
  s.out.push({ type: "continue" });
}

/**
 * The DELIVER of the SEND `conn` sent in this event: its header spliced from the SEND's
 * (the owner of a mailbox address is the addressee, so the address is the SEND's too).
 */
export function spliced(s: CoreState, conn: Conn, content: Uint8Array[]): Uint8Array[] {
  const frames = new Array<Uint8Array>(content.length + 1);
  frames[0] = deliverHeader(conn.senderField ??= stringField(conn.address), s.header);
  for (let i = 0; i < content.length; i++) frames[i + 1] = content[i] as Uint8Array;
  return frames;
}

/** The core lets go of a stored message's content: emptied, and listed for release once. */
export function dropContent(s: CoreState, message: StoredMessage): void {
  if (message.content === NO_CONTENT) return;
  release(s, message.content);
  message.content = NO_CONTENT;
}

/** `frames` will not be read again by the core (sends already queued may still hold them). */
export function release(s: CoreState, frames: readonly Uint8Array[]): void {
  for (let i = 0; i < frames.length; i++) s.released.push(frames[i] as Uint8Array);
}

/** Log; lines above debug are rate-limited per message text (a peer must not control the log volume). */
export function log(s: CoreState, level: LogLevel, message: string, fields: Record<string, unknown>): void {
  if (level !== "debug" && !s.logLimiter.admit(message, s.now)) {
    s.counters.logsSuppressed++;
    return;
  }
  s.out.push({ type: "log", level, message, fields });
}
