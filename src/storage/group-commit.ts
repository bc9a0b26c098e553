/**
 * Group commit: concurrent callers share one run of an expensive task (an fsync). A call made
 * while a run is in progress may have work the run missed, so it waits for the next run, which
 * every such caller shares.
 *
 * @example
 * ```ts
 * const commit = new GroupCommit(() => fsyncEverything());
 * await Promise.all([commit.run(), commit.run(), commit.run()]); // one or two fsyncs, not three
 * ```
 */
export class GroupCommit {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(private readonly task: () => Promise<void>) {}

  run(): Promise<void> {
    if (this.#running === undefined) return this.#start();
    this.#next ??= this.#running.then(
      () => this.#startNext(),
      () => this.#startNext(),
    );
    return this.#next;
  }

  #startNext(): Promise<void> {
    this.#next = undefined;
    return this.#start();
  }

  #start(): Promise<void> {
    const run = this.task();
    this.#running = run;
    const clear = () => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(clear, clear);
    return run;
  }
}
