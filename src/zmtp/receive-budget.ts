/**
 * A byte budget shared by the connections of one socket: memory held in messages not yet
 * completely received (buffers of frames being assembled and the finished parts of an
 * unfinished multipart message). Sessions take from it before they allocate and give back
 * when a message is delivered or the connection ends; a session that cannot take what it needs
 * closes with `ZMTP_RECEIVE_BUDGET` instead of waiting, so one peer can neither stall the
 * others nor make the process hold more than the budget.
 *
 * @example
 * ```ts
 * const budget = new ReceiveBudget(1024 * 1024 * 1024);
 * const a = new Session({ socketType: "ROUTER", mechanism: new NullMechanism(), receiveBudget: budget }, handler);
 * budget.held; // bytes currently held by a, and by every other session sharing the budget
 * ```
 */
export class ReceiveBudget {
  /** The most bytes that may be held at once. */
  readonly limit: number;
  #held = 0;
  #peak = 0;
  #refused = 0;

  constructor(limit: number) {
    if (!(limit >= 0)) throw new RangeError(`receive budget must be a number >= 0, got ${limit}`);
    this.limit = limit;
  }

  /** Bytes held now. */
  get held(): number {
    return this.#held;
  }

  /** Most bytes ever held at once (for tests and diagnostics). */
  get peak(): number {
    return this.#peak;
  }

  /** How many `take` calls were refused. */
  get refused(): number {
    return this.#refused;
  }

  /** Take `bytes` if that stays within the limit; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    const held = this.#held + bytes;
    if (held > this.limit) {
      this.#refused++;
      return false;
    }
    this.#held = held;
    if (held > this.#peak) this.#peak = held;
    return true;
  }

  /** Give back `bytes` taken earlier. */
  give(bytes: number): void {
    this.#held -= bytes;
  }
}
