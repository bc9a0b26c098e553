// Where a cancel goes on a worker (from the caller's mailbox or the cancel stream): to the running
// call it names, to a call still waiting for a slot, or, when neither is here yet, into the
// memory of early cancels so the call is refused when it arrives.
import type { Delivery } from "../../client/types.ts";
import { RpcCancelledError, RpcDeadlineError, RpcErrorCode } from "../errors.ts";
import { callIdOfCancel } from "../wire/cancel-subject.ts";
import { decodeFrames, type Header } from "../wire/envelope.ts";
import { callKey, reject } from "./calls.ts";
import type { EarlyCancels } from "./cancels.ts";
import type { RunningCalls } from "./running.ts";
import type { WaitingCalls } from "./waiting.ts";

/** What a cancel can reach on a worker: built once per worker, so routing allocates nothing. */
export interface CancelTargets {
  readonly service: string;
  readonly running: RunningCalls;
  readonly waiting: WaitingCalls;
  readonly early: EarlyCancels;
  readonly stats: { cancels: number; malformed: number; skippedCancelled: number };
}

/**
 * Applies one delivery of the control connection: a cancel aborts the running call it names,
 * answers a waiting one, or is remembered until its deadline; anything else counts as malformed.
 *
 * @example
 * ```ts
 * control.onDelivery((delivery) => routeCancel(targets, delivery));
 * ```
 */
export function routeCancel(targets: CancelTargets, delivery: Delivery): void {
  const callId = delivery.kind === "stream" ? callIdOfCancel(targets.service, delivery.subject) : delivery.tracker;
  let header: Header;
  try {
    header = decodeFrames(delivery.content);
  } catch {
    targets.stats.malformed++;
    return;
  }
  if (header.kind !== "cancel" || callId === "") {
    targets.stats.malformed++;
    return;
  }
  targets.stats.cancels++;
  let found = false;
  for (const run of targets.running.list()) {
    // Call ids are unique per caller only.
    if (run.callId !== callId || run.caller !== delivery.sender) continue;
    found = true;
    run.abort(
      header.code === RpcErrorCode.DEADLINE_EXCEEDED
        ? new RpcDeadlineError(`call ${callId} missed its deadline`)
        : new RpcCancelledError(`call ${callId} was cancelled by the caller`),
    );
  }
  if (found) return;
  const waiting = targets.waiting.take(callKey(delivery.sender, callId));
  if (waiting !== undefined) {
    targets.stats.skippedCancelled++;
    reject(
      waiting.reply,
      header.code === RpcErrorCode.DEADLINE_EXCEEDED
        ? new RpcDeadlineError(`call ${callId} missed its deadline`)
        : new RpcCancelledError(`call ${callId} was cancelled before it started`),
    );
    return;
  }
  const now = Date.now();
  // Remember it until its deadline: the call may still be queued, or on its way to us.
  targets.early.add(callKey(delivery.sender, callId), Math.min(header.deadline ?? now + 60_000, now + 3_600_000), now);
}
