import { MlmClient } from "../client/client.ts";
import type { ConsumerFrom, Delivery, MlmClientOptions } from "../client/types.ts";
import { MalamuteError } from "../errors.ts";
import { decodeValue, encodeValue } from "../rpc/wire/codec.ts";
import type { Progress } from "./contracts/common.ts";

/**
 * The MLM stream every Forge job reports on.
 *
 * @example
 * ```ts
 * await mlmClient.setConsumer(FORGE_EVENTS_STREAM, "zimage\\..*");
 * ```
 */
export const FORGE_EVENTS_STREAM = "forge.events";

/**
 * What happened to a job.
 *
 * @example
 * ```ts
 * const finished = (k: ForgeEventKind) => k === "completed" || k === "failed" || k === "cancelled";
 * ```
 */
export type ForgeEventKind = "started" | "progress" | "completed" | "failed" | "cancelled";

/**
 * One event on `forge.events`. The MLM subject is `<service>.<method>.<kind>`, e.g.
 * `zimage.generate.progress`, so watchers can filter with a pattern; the content is this
 * object as one msgpack frame.
 *
 * @example
 * ```ts
 * for await (const e of feed) if (e.kind === "completed") console.log(e.service, e.durationMs, e.summary);
 * ```
 */
export interface ForgeEvent {
  /** Event format version. */
  v: 1;
  kind: ForgeEventKind;
  /** The RPC call id (the MLM tracker): the same for every event of one job. */
  jobId: string;
  service: string;
  method: string;
  /** The backend doing the work, e.g. `demo-procedural` or `openai-images:…`. */
  backend: string;
  /** Mailbox of the caller, when known. */
  caller?: string;
  /** Milliseconds since the Unix epoch. */
  at: number;
  /** For `progress` events. */
  progress?: Progress;
  /** For the final events: how long the job ran, ms. */
  durationMs?: number;
  /** For `failed` / `cancelled`: the error's code and message. */
  error?: { code: string; message: string };
  /** For `completed`: small facts about the output (seed, sizes, token counts...), never the payload. */
  summary?: Record<string, string | number | boolean>;
}

/**
 * Reports the life of one job. Every method is safe to call at any time and never throws.
 *
 * @example
 * ```ts
 * const job = events.job({ jobId, service: "kokoro", method: "synthesize", backend: backend.name });
 * try { job.completed(summary(await run())); } catch (e) { job.failed(e); throw e; }
 * ```
 */
export interface JobReporter {
  progress(value: Progress): void;
  completed(summary?: Record<string, string | number | boolean>): void;
  failed(error: unknown): void;
}

/**
 * Options of {@link ForgeEvents.connect}.
 *
 * @example
 * ```ts
 * const events = await ForgeEvents.connect(endpoint, { address: "forge-events", progressIntervalMs: 250 });
 * ```
 */
export interface ForgeEventsOptions extends Pick<MlmClientOptions, "transport" | "plain" | "curve" | "timeout"> {
  /** Mailbox address of the publishing client. Default "" (anonymous). */
  address?: string;
  /** Smallest gap between two progress events of one job, ms (the last one is always sent). Default 100. */
  progressIntervalMs?: number;
}

/**
 * Publishes job lifecycle and progress events on the `forge.events` stream. Publishing is best
 * effort: an event that cannot be sent (broker unreachable) is counted in `dropped`, and the
 * job itself is never affected.
 *
 * @example
 * ```ts
 * import { ForgeEvents } from "malamute/forge";
 * const events = await ForgeEvents.connect(endpoint);
 * const job = events.job({ jobId: "c1", service: "zimage", method: "generate", backend: "demo-procedural" });
 * job.progress({ done: 1, total: 4 });
 * job.completed({ seed: 42 });
 * await events.close();
 * ```
 */
export class ForgeEvents {
  /** Events published. */
  published = 0;
  /** Events that could not be published. */
  dropped = 0;
  readonly #client: MlmClient | undefined;
  readonly #interval: number;
  readonly #owned: boolean;

  private constructor(client: MlmClient | undefined, interval: number, owned: boolean) {
    this.#client = client;
    this.#interval = interval;
    this.#owned = owned;
  }

  /** Connects a client of its own and registers it as the stream's producer. */
  static async connect(endpoint: string, options: ForgeEventsOptions = {}): Promise<ForgeEvents> {
    const { progressIntervalMs, ...clientOptions } = options;
    const client = await MlmClient.connect(endpoint, clientOptions);
    try {
      await client.setProducer(FORGE_EVENTS_STREAM);
    } catch (err) {
      await client.close();
      throw err;
    }
    return new ForgeEvents(client, progressIntervalMs ?? 100, true);
  }

  /** Publishes through an existing client, which must already be `forge.events`' producer; `close()` leaves it open. */
  static using(client: MlmClient, options: { progressIntervalMs?: number } = {}): ForgeEvents {
    return new ForgeEvents(client, options.progressIntervalMs ?? 100, false);
  }

  /** A publisher that publishes nothing (events turned off). */
  static none(): ForgeEvents {
    return new ForgeEvents(undefined, 0, false);
  }

  /** Starts reporting a job: publishes `started` now. */
  job(info: { jobId: string; service: string; method: string; backend: string; caller?: string }): JobReporter {
    const started = performance.now();
    const base = { v: 1 as const, ...info };
    let lastProgress = -Infinity;
    let finished = false;
    this.#publish({ ...base, kind: "started", at: Date.now() });
    return {
      progress: (value) => {
        if (finished) return;
        const now = performance.now();
        const last = value.total > 0 && value.done >= value.total;
        if (!last && now - lastProgress < this.#interval) return;
        lastProgress = now;
        this.#publish({ ...base, kind: "progress", at: Date.now(), progress: value });
      },
      completed: (summary) => {
        if (finished) return;
        finished = true;
        const event: ForgeEvent = { ...base, kind: "completed", at: Date.now(), durationMs: performance.now() - started };
        if (summary) event.summary = summary;
        this.#publish(event);
      },
      failed: (error) => {
        if (finished) return;
        finished = true;
        const code = error instanceof MalamuteError ? error.code : "RPC_INTERNAL";
        const message = error instanceof Error ? error.message : String(error);
        const kind: ForgeEventKind = /CANCELLED/.test(code) ? "cancelled" : "failed";
        this.#publish({ ...base, kind, at: Date.now(), durationMs: performance.now() - started, error: { code, message } });
      },
    };
  }

  /** Closes the client if this publisher opened it. */
  async close(): Promise<void> {
    if (this.#owned) await this.#client?.close();
  }

  #publish(event: ForgeEvent): void {
    if (!this.#client) return;
    try {
      this.#client.send(`${event.service}.${event.method}.${event.kind}`, encodeValue(event));
      this.published++;
    } catch {
      this.dropped++;
    }
  }
}

/**
 * A live feed of Forge events; iterate it, and `close()` it when done.
 *
 * @example
 * ```ts
 * const feed = await watchForgeEvents(endpoint);
 * setTimeout(() => feed.close(), 60_000);
 * for await (const e of feed) console.log(e.kind);
 * ```
 */
export interface ForgeEventFeed extends AsyncIterable<ForgeEvent> {
  close(): Promise<void>;
}

/**
 * Watches `forge.events`: connects a client of its own, subscribes with `pattern` (MLM/zrex
 * syntax on the subject `<service>.<method>.<kind>`; default every event), and yields events
 * as they arrive. Undecodable messages are skipped.
 *
 * With `from`, a late watcher first gets the history the broker's journal holds (a broker with
 * storage, docs/durability.md), then live events with no gap: `"first"`, `{ last: n }`,
 * `{ seq: n }` or `{ time }`. Against a broker without a journal it fails with the client's
 * `MLM_CONSUMER_REFUSED` (or `MLM_UNSUPPORTED` on C Malamute).
 *
 * @example
 * ```ts
 * import { watchForgeEvents } from "malamute/forge";
 * const feed = await watchForgeEvents(endpoint, { pattern: "zimage\\..*", from: "first" });
 * for await (const e of feed) console.log(e.kind, e.jobId, e.progress?.done);
 * ```
 */
export async function watchForgeEvents(
  endpoint: string,
  options: Pick<MlmClientOptions, "transport" | "plain" | "curve" | "timeout"> & { pattern?: string; from?: ConsumerFrom } = {},
): Promise<ForgeEventFeed> {
  const { pattern, from, ...clientOptions } = options;
  const client = await MlmClient.connect(endpoint, clientOptions);
  const buffered: ForgeEvent[] = [];
  const waiters: Array<(r: IteratorResult<ForgeEvent>) => void> = [];
  let closed = false;
  const stop = client.onDelivery((d: Delivery) => {
    if (d.kind !== "stream" || d.address !== FORGE_EVENTS_STREAM || d.content.length !== 1) return;
    let event: ForgeEvent;
    try {
      event = decodeValue(d.content[0]!, "event") as ForgeEvent;
    } catch {
      return;
    }
    if (typeof event !== "object" || event === null || event.v !== 1) return;
    const waiter = waiters.shift();
    if (waiter) waiter({ done: false, value: event });
    else buffered.push(event);
  });
  try {
    if (from === undefined) await client.setConsumer(FORGE_EVENTS_STREAM, pattern ?? ".*");
    else await client.setConsumer(FORGE_EVENTS_STREAM, pattern ?? ".*", { from });
  } catch (err) {
    stop();
    await client.close();
    throw err;
  }
  const close = async () => {
    if (closed) return;
    closed = true;
    stop();
    for (const w of waiters.splice(0)) w({ done: true, value: undefined });
    await client.close();
  };
  return {
    close,
    [Symbol.asyncIterator]: () => ({
      next: () => {
        const value = buffered.shift();
        if (value) return Promise.resolve({ done: false, value });
        if (closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise<IteratorResult<ForgeEvent>>((resolve) => waiters.push(resolve));
      },
      return: async () => {
        await close();
        return { done: true, value: undefined };
      },
    }),
  };
}
