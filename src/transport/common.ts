// Helpers every transport shares (zmtp, inproc, zeromq): socket counters, routing-id keys,
// the message-size check and the reconnect schedule.
import { FRAME_OVERHEAD } from "../zmtp/limits.ts";
import { TransportError } from "./errors.ts";
import type { SocketStats } from "./types.ts";

/** Fresh zeroed counters. */
export function emptyStats(): SocketStats {
  return { messagesIn: 0, messagesOut: 0, droppedUnroutable: 0, protocolErrors: 0 };
}

/** A Map key for a routing id: one char per byte (cheaper than hex on the send path). */
export function routingIdKey(id: Uint8Array): string {
  let key = "";
  for (let i = 0; i < id.length; i++) key += String.fromCharCode(id[i] as number);
  return key;
}

/**
 * Routing ids for anonymous peers: `00` followed by a big-endian 32-bit counter that starts
 * at a random value per socket, like libzmq. The leading zero keeps them apart from
 * application-chosen identities, which may not start with 0.
 */
export class RoutingIdGenerator {
  #next = Math.floor(Math.random() * 0x100000000) >>> 0;

  next(): Uint8Array {
    const n = this.#next;
    this.#next = (n + 1) >>> 0;
    return new Uint8Array([0, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
  }
}

/**
 * What a message counts against `maxMessageSize`: the sum of its frame sizes plus
 * `FRAME_OVERHEAD` (64) bytes per frame, the rule the ZMTP engine applies on receipt, so a
 * socket never sends what an identically configured peer would refuse.
 */
export function messageCost(frames: readonly Uint8Array[]): number {
  let n = frames.length * FRAME_OVERHEAD;
  for (const f of frames) n += f.byteLength;
  return n;
}

/**
 * @throws TransportError `MESSAGE_TOO_LARGE` when `frames` cost more than `max` (see
 *   {@link messageCost}); `max` undefined means no limit.
 */
export function checkMessageSize(frames: readonly Uint8Array[], max: number | undefined): void {
  if (max === undefined) return;
  const cost = messageCost(frames);
  if (cost > max) {
    throw new TransportError(
      "MESSAGE_TOO_LARGE",
      `message of ${frames.length} frames and ${cost - frames.length * FRAME_OVERHEAD} bytes exceeds maxMessageSize ${max} (each frame counts ${FRAME_OVERHEAD} bytes more)`,
    );
  }
}

/**
 * libzmq's reconnect schedule: wait `interval` plus a random jitter in [0, interval)
 * (`random` in [0, 1)); after a failed attempt the interval doubles up to `max` when `max`
 * exceeds it (0 = no backoff, libzmq's default).
 *
 * @example
 * ```ts
 * const { delay, next } = reconnectSchedule(100, 0, Math.random()); // delay in 100..199, next 100
 * ```
 */
export function reconnectSchedule(interval: number, max: number, random: number): { delay: number; next: number } {
  return {
    delay: interval + Math.floor(random * interval),
    next: max > interval ? Math.min(max, interval * 2) : interval,
  };
}
