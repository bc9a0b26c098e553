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
 * How long Deno may chain continuations on immediates before one goes through a zero timer.
 * Deno runs immediates queued by immediates before it polls I/O again, so a chain of them
 * (a burst split into slices, a long pattern job) would keep other connections out; a zero
 * timer lets them in but costs 1-2 ms there, which at one slice per timer capped a connection
 * at ~200k small messages/s. Immediates for up to this long, then one timer, keep both.
 */
const DENO_IMMEDIATE_MS = 1;

/** When Deno's current chain of immediates began (-1: the last continuation ran on a timer). */
let immediatesSince = -1;

/** `callback` after the output queued with {@link atTurnEnd} has gone out. */
function afterTurnEnd(callback: () => void): void {
  runTurnEnd();
  callback();
}

function denoNextTurn(callback: () => void): void {
  const now = performance.now();
  if (immediatesSince < 0) immediatesSince = now;
  if (now - immediatesSince < DENO_IMMEDIATE_MS) {
    setImmediate(afterTurnEnd, callback);
    return;
  }
  setTimeout(() => {
    immediatesSince = -1;
    afterTurnEnd(callback);
  }, 0);
}

/**
 * Run `callback` on a later turn of the event loop, after the I/O that is already due, so work
 * split across turns lets other connections in (on Deno, see `DENO_IMMEDIATE_MS`). Output
 * queued with {@link atTurnEnd} goes out before `callback` runs.
 *
 * @example
 * ```ts
 * nextTurn(() => continueWork());
 * ```
 */
export const nextTurn: (callback: () => void) => void = "Deno" in globalThis
  ? denoNextTurn
  : (callback) => void setImmediate(afterTurnEnd, callback);
