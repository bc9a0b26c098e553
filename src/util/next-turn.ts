import { setImmediate } from "node:timers";

/** Tasks waiting for the end of this event-loop turn (see {@link atTurnEnd}). */
const due: Array<() => void> = [];

/**
 * Run the tasks queued with {@link atTurnEnd} now, in order. Tasks queued while they run (a
 * write that completes may let its owner send again) run in this same pass.
 */
function runTurnEnd(): void {
  for (let i = 0; i < due.length; i++) (due[i] as () => void)();
  due.length = 0;
}

/**
 * Run `task` once every callback of this event-loop turn has run: after the I/O already due,
 * before the loop waits for more. Sockets use it to write once per turn what several reads of
 * the turn produced for them, instead of once per read. Work deferred with {@link nextTurn}
 * runs these tasks first, so deferred work never holds back output produced before it.
 *
 * @example
 * ```ts
 * atTurnEnd(() => socket.write(batch));
 * ```
 */
export function atTurnEnd(task: () => void): void {
  due.push(task);
  if (due.length === 1) setImmediate(runTurnEnd);
}

/**
 * Run `callback` on a later turn of the event loop, after the I/O that is already due, so work
 * split across turns lets other connections in. Deno runs immediates before it polls I/O again,
 * so there a zero timer is what lets them in. Output queued with {@link atTurnEnd} goes out
 * before `callback` runs.
 *
 * @example
 * ```ts
 * nextTurn(() => continueWork());
 * ```
 */
export const nextTurn: (callback: () => void) => void = "Deno" in globalThis
  ? (callback) =>
    void setTimeout(() => {
      runTurnEnd();
      callback();
    }, 0)
  : (callback) =>
    void setImmediate(() => {
      runTurnEnd();
      callback();
    });
