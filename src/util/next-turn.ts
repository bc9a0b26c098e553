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
 * timer lets them in but costs ~2 ms there. Immediates for up to this long, then one timer,
 * keep both. A chain is continuations that each queue the next before they return; once one
 * returns without doing so, Deno polls I/O and the next continuation starts a new chain.
 * (Timing chains from the first continuation until a timer ran, as once done, put a timer
 * after every millisecond of work: a busy connection ran at a third of its rate.)
 */
const DENO_IMMEDIATE_MS = 1;

/**
 * When Deno's current chain of immediates began; -1 when there is none: the last continuation
 * ran on a timer, or one ran without queueing another, so Deno polled I/O after it.
 */
let immediatesSince = -1;
/** Continuations queued on immediates and not yet run (a chain ends when none are left). */
let immediatesQueued = 0;

/** `callback` after the output queued with {@link atTurnEnd} has gone out. */
function afterTurnEnd(callback: () => void): void {
  runTurnEnd();
  callback();
}

/** A continuation on an immediate: the last of a chain lets Deno poll I/O, so the next chain starts afresh. */
function afterImmediate(callback: () => void): void {
  try {
    afterTurnEnd(callback);
  } finally {
    if (--immediatesQueued === 0) immediatesSince = -1;
  }
}

function denoNextTurn(callback: () => void): void {
  const now = performance.now();
  if (immediatesSince < 0) immediatesSince = now;
  if (now - immediatesSince < DENO_IMMEDIATE_MS) {
    immediatesQueued++;
    setImmediate(afterImmediate, callback);
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
