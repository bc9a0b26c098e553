import { setImmediate } from "node:timers";

/**
 * Run `callback` on a later turn of the event loop, after the I/O that is already due, so work
 * split across turns lets other connections in. Deno runs immediates before it polls I/O again,
 * so there a zero timer is what lets them in.
 *
 * @example
 * ```ts
 * nextTurn(() => continueWork());
 * ```
 */
export const nextTurn: (callback: () => void) => void = "Deno" in globalThis
  ? (callback) => void setTimeout(callback, 0)
  : (callback) => void setImmediate(callback);
