// How a worker identifies, dates and refuses a call: shared by the call path (core.ts) and the
// cancel path (cancel-route.ts).
import type { CallHeader } from "../wire/envelope.ts";
import type { Reply } from "./reply.ts";

/** Call ids are unique per caller: this identifies a call among every caller's. */
export function callKey(caller: string, callId: string): string {
  return `${caller}\n${callId}`;
}

/**
 * When a call must end, on this worker's clock. `timeout` 0 means no deadline, as MLM's
 * `timeout` 0 means "never expires" (the broker keeps such a call queued for good); `deadline`
 * is then ignored. Otherwise the caller's absolute deadline is trusted only when it is plausible
 * on our clock (no large skew), else `now + timeout`.
 */
export function callDeadline(header: CallHeader, now: number): number {
  if (header.timeout === 0) return Infinity;
  const byTimeout = now + header.timeout;
  return header.deadline > now && header.deadline < byTimeout ? header.deadline : byTimeout;
}

/** Answers a call that never reaches its handler. */
export function reject(reply: Reply, error: unknown): void {
  reply.fail(error);
  reply.done();
}

/** How long after the call's deadline an uncollected reply may stay in the broker. */
export const REPLY_GRACE_MS = 5_000;

/** The meta of a call that carries none: one frozen object, and a quick test for "no trace context". */
export const NO_META: Readonly<Record<string, string>> = Object.freeze({});
