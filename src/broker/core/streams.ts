// Streams: writers and readers (STREAM-WRITE, -READ, -CANCEL with their limits and pattern
// checks) and accepting a STREAM-SEND (journal, observer) before its fan-out.
import { stringField } from "../../proto/splice.ts";
import type { StreamRead, StreamSend } from "../../proto/types.ts";
import { concatBytes } from "../../util/bytes.ts";
import type { Conn } from "../model/conn.ts";
import { FanOut } from "../model/fanout.ts";
import { contentBytes } from "../model/message.ts";
import { obtain, reclaimIfIdle } from "../model/registry.ts";
import { Stream } from "../model/stream.ts";
import { exactSubject } from "../pattern.ts";
import { PATTERN_REFUSED } from "../status.ts";
import { deniedWithError, deregister } from "./connections.ts";
import { log, release, reply } from "./output.ts";
import type { CoreState } from "./state.ts";
import { defer, fanOut } from "./stream-delivery.ts";

/** The stream called `name`, made on first use. */
function streamNamed(s: CoreState, name: string): Stream {
  return obtain(s.streams, name, Stream);
}

/** Forget `stream` once it has no writers, readers or waiting fan-outs. */
export function reclaimStream(s: CoreState, stream: Stream): void {
  reclaimIfIdle(s.streams, stream);
}

/**
 * Whether `source` compiles; if not, refuse the command with ERROR 300 (counted, logged; the
 * session stays). The compile is charged to the turn's budget and cached for the first match.
 */
export function patternRefused(s: CoreState, conn: Conn, command: string, source: string): boolean {
  const pattern = s.chargedPattern(source);
  if (pattern.valid) return false;
  s.counters.subscriptionsRefused++;
  log(s, "warn", `${command} refused: invalid pattern`, {
    conn: conn.key, address: conn.address, pattern: source, error: pattern.error,
  });
  // ERROR 300's header up to its reason, then the reason cut to the 255 bytes a string field holds.
  const reason = stringField(`${PATTERN_REFUSED}: ${pattern.error ?? ""}`);
  reply(s, conn, concatBytes([s.failedHeader.subarray(0, s.failedHeader.length - 1), reason]));
  return true;
}

/** STREAM-WRITE: `conn` publishes to `name` from now on. */
export function streamWrite(s: CoreState, conn: Conn, name: string): void {
  if (deniedWithError(s, conn, "write", name)) return;
  const previous = conn.writer;
  if (previous?.name !== name) {
    const stream = streamNamed(s, name);
    stream.writers++;
    conn.writer = stream;
    if (previous) {
      previous.writers--;
      reclaimStream(s, previous);
    }
  }
  reply(s, conn, s.okHeader);
}

/** STREAM-READ: subscribe `conn` to a pattern of the stream, within the per-connection and per-stream limits. */
export function streamRead(s: CoreState, conn: Conn, message: StreamRead): void {
  if (deniedWithError(s, conn, "read", message.stream)) return;
  const stream = streamNamed(s, message.stream);
  const source = message.pattern;
  const limits = s.limits;
  if (!stream.has(conn, source)) {
    const tooMany = conn.patterns >= limits.patternsPerConnection
      ? "patternsPerConnection"
      : !stream.selectors.has(source) && stream.selectors.size >= limits.patternsPerStream
      ? "patternsPerStream"
      : undefined;
    if (tooMany !== undefined) {
      // ERROR 300: a C client's set_consumer fails; the session stays (docs/broker.md).
      s.counters.subscriptionsRefused++;
      log(s, "warn", "subscription refused: limit reached", {
        conn: conn.key, address: conn.address, stream: stream.name, limit: tooMany,
      });
      s.out.push({ type: "send", conn: conn.key, frames: [s.subscriptionRefusedHeader] });
      reclaimStream(s, stream);
      return;
    }
    // A pattern some reader already has compiled; a literal needs no compile (see exactSubject).
    if (!stream.selectors.has(source) && exactSubject(source) === undefined && patternRefused(s, conn, "STREAM-READ", source)) {
      reclaimStream(s, stream);
      return;
    }
    stream.addReader(conn, source, exactSubject);
    conn.patterns++;
    (conn.reading ??= new Set()).add(stream);
  }
  reply(s, conn, s.okHeader);
}

/** STREAM-CANCEL: drop `conn`'s subscriptions to the stream and its journal reads of it. */
export function streamCancel(s: CoreState, conn: Conn, name: string): void {
  s.journals.cancel(conn, name);
  const stream = s.streams.get(name);
  if (stream) {
    conn.patterns -= stream.removeReader(conn);
    conn.reading?.delete(stream);
    reclaimStream(s, stream);
  }
  reply(s, conn, s.okHeader);
}

/** STREAM-SEND: journal it, tell the observer, and fan it out now or in a later turn. */
export function streamSend(s: CoreState, conn: Conn, message: StreamSend): void {
  const stream = conn.writer;
  if (!stream) {
    // As C: an exception. ERROR 300 ends the session; C clients treat it as fatal.
    s.counters.dropped++;
    reply(s, conn, s.failedHeader);
    log(s, "debug", "STREAM-SEND without a writer stream", { conn: conn.key, address: conn.address });
    deregister(s, conn);
    release(s, message.content);
    return;
  }
  if (s.journals.enabled) s.journals.append(stream.name, conn, message);
  if (s.observer?.watched?.has(stream.name)) {
    s.observer.published?.(stream.name, message.subject, conn.address, message.content);
  }
  const fan = new FanOut(stream, conn, message.subject, message.content, contentBytes(message.content), ++s.seq);
  // A stream's messages go out in order: behind a fan-out that waits, a new one waits too.
  if (stream.pending.length > 0 || !fanOut(s, fan)) defer(s, fan);
}
