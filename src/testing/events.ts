import type { ConsumerFrom } from "../client/types.ts";
import { type ForgeEvent, type ForgeEventKind, watchForgeEvents } from "../forge/events.ts";
import { RpcError, RpcErrorCode } from "../rpc/errors.ts";
import type { MockTarget } from "./mock-service.ts";

const FINAL: ReadonlySet<ForgeEventKind> = new Set(["completed", "failed", "cancelled"]);

/**
 * Records `forge.events` for assertions. Events are kept in arrival order, at most `limit`
 * (default 10 000; older ones are then dropped and counted in `dropped`), so a long test
 * cannot grow it without bound.
 *
 * @example
 * ```ts
 * const events = await recordForgeEvents(t);
 * await client.zimage.generate({ prompt: "sea" });
 * const job = await events.job(); // the first job that ended
 * assert.deepEqual(job.map((e) => e.kind), ["started", "progress", "completed"]);
 * ```
 */
export interface ForgeEventRecorder {
  readonly events: readonly ForgeEvent[];
  /** Events dropped at the `limit`. */
  readonly dropped: number;
  /** The kinds of one job's events, in order: `["started", "progress", "completed"]`. */
  kinds(jobId: string): ForgeEventKind[];
  /** Resolves with the first recorded event matching `match` (waiting for it); rejects after `timeoutMs` (default 5000). */
  waitFor(match: (event: ForgeEvent) => boolean, options?: { timeoutMs?: number }): Promise<ForgeEvent>;
  /**
   * Every event of a job once it ended (completed, failed or cancelled): of `jobId`, or of the
   * first job to end when omitted. Rejects after `timeoutMs` (default 5000).
   */
  job(jobId?: string, options?: { timeoutMs?: number }): Promise<ForgeEvent[]>;
  clear(): void;
  close(): Promise<void>;
}

/**
 * Start recording `forge.events` (those matching `pattern`, default all). The subscription is
 * in place when the promise resolves, so events published afterwards are all seen. Closed with
 * `target` when that is a {@link TestBroker}.
 *
 * @example
 * ```ts
 * const events = await recordForgeEvents(t, { pattern: "zimage\\..*" });
 * ```
 */
export async function recordForgeEvents(
  target: MockTarget,
  options: { pattern?: string; from?: ConsumerFrom; limit?: number } = {},
): Promise<ForgeEventRecorder> {
  const limit = options.limit ?? 10_000;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const feed = await watchForgeEvents(target.endpoint, {
    ...(target.transport ? { transport: target.transport } : {}),
    ...(options.pattern !== undefined ? { pattern: options.pattern } : {}),
    ...(options.from !== undefined ? { from: options.from } : {}),
  });
  const events: ForgeEvent[] = [];
  const watchers = new Set<() => void>();
  let dropped = 0;
  const pump = (async () => {
    for await (const event of feed) {
      if (events.length >= limit) {
        events.shift();
        dropped++;
      }
      events.push(event);
      for (const wake of watchers) wake();
    }
  })();

  const until = <T>(find: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> => {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = find();
        if (value === undefined) return;
        clearTimeout(timer);
        watchers.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new RpcError(RpcErrorCode.DEADLINE_EXCEEDED, `no ${what} on forge.events within ${timeoutMs} ms (${events.length} events seen)`));
      }, timeoutMs);
      watchers.add(check);
    });
  };

  const recorder: ForgeEventRecorder = {
    events,
    get dropped() {
      return dropped;
    },
    kinds: (jobId) => events.filter((e) => e.jobId === jobId).map((e) => e.kind),
    waitFor: (match, { timeoutMs } = {}) => until(() => events.find(match), "matching event", timeoutMs),
    job: (jobId, { timeoutMs } = {}) =>
      until(() => {
        const end = events.find((e) => FINAL.has(e.kind) && (jobId === undefined || e.jobId === jobId));
        return end ? events.filter((e) => e.jobId === end.jobId) : undefined;
      }, jobId === undefined ? "finished job" : `end of job ${JSON.stringify(jobId)}`, timeoutMs),
    clear: () => void events.splice(0),
    close: async () => {
      await feed.close();
      await pump;
    },
  };
  target.own?.(recorder);
  return recorder;
}
