// What a worker's owner configures and observes: serve()'s options, the counters, the `call`
// record and events, and the RpcWorker handle. Types only, shared by the façade and the core.
import type { MlmClient } from "../../client/client.ts";
import type { MlmClientOptions } from "../../client/types.ts";
import type { CurveClientOptions, Transport } from "../../transport/types.ts";

/**
 * Options of {@link serve}.
 *
 * @example
 * ```ts
 * await serve(endpoint, qwen3vl, handlers, { concurrency: 1, maxPayload: 256 * 1024 * 1024 });
 * ```
 */
export interface ServeOptions {
  /**
   * Calls run at once. The broker gets it as credit and sends no more; a broker that ignores
   * credit (C Malamute) sends them anyway, and the worker then holds the extra calls itself,
   * first come first served, up to `maxWaiting`: a waiting call whose deadline passes is
   * answered `RPC_DEADLINE_EXCEEDED` and a cancelled one `RPC_CANCELLED`, neither ever runs.
   * So `concurrency: 1` never runs two calls at once, on any broker. Default 1.
   */
  concurrency?: number;
  /**
   * Calls held waiting for a free slot (only a broker that ignores credit sends any). Beyond
   * it a call is answered at once with `RPC_RESOURCE_EXHAUSTED`, without running. Default 10000.
   */
  maxWaiting?: number;
  /** Largest encoded input, output, chunk or progress value (payload plus binary frames), bytes. Default 64 MiB (the broker's default message limit). */
  maxPayload?: number;
  /**
   * Uint8Arrays of at least this many bytes in outputs, chunks and progress values are sent as
   * binary frames of their own, by reference, instead of being copied into the msgpack payload
   * (docs/rpc-wire.md). Default 64 KiB; 0 or Infinity: never.
   */
  binaryFrameThreshold?: number;
  /** Mailbox address for cancels. Default `rpc-worker-<service>-<random>`; must be unique on the broker. */
  address?: string;
  /** On close, ms to let running calls finish before aborting them (they are then requeued). Default 10000. */
  drainTimeout?: number;
  /** Cancels of not-yet-started calls remembered at once. Default 10000. */
  cancelMemory?: number;
  /**
   * A call still running after this many ms is acknowledged to its caller (with this worker's
   * cancel mailbox), and deadlines are checked this often. Faster calls send no ack: their
   * cancels travel on the cancel stream. Default 10.
   */
  ackAfter?: number;
  /** Socket factory. Default: the `zmtp` TCP transport. */
  transport?: Transport;
  /**
   * When `@opentelemetry/api` is installed, a call that carries W3C trace context (`traceparent`
   * in its meta, as clients add by default) runs its handler inside a SERVER span, child of the
   * caller's: name `<service>/<method>`, attributes `rpc.system`, `rpc.service`, `rpc.method`,
   * `malamute.rpc.call_id`, `malamute.rpc.queue_wait_ms` (when the clocks agree) and
   * `malamute.rpc.outcome` (`OK` or the error code; error status on failure). `false`: never,
   * and the API is not even loaded. Default true.
   */
  tracing?: boolean;
  /**
   * Distinct error codes counted in `stats().failures`; failures with further codes are
   * counted under `OTHER`. Default 64.
   */
  maxFailureCodes?: number;
  /**
   * ZMTP CURVE keys (encrypted connection, broker authenticated by `serverKey`), the same as
   * the `curve` option of {@link MlmClient.connect}, which wins over `mlm.curve`.
   *
   * @example
   * ```ts
   * await serve(endpoint, qwen3vl, handlers, { curve: { serverKey, ...await loadCurveKeyPair("keys/worker") } });
   * ```
   */
  curve?: CurveClientOptions;
  /** Further options of the two underlying {@link MlmClient}s. */
  mlm?: Omit<MlmClientOptions, "address" | "transport" | "credit" | "manualCredit">;
}

/**
 * Counters of a worker.
 *
 * @example
 * ```ts
 * const { running, maxRunning, failed } = worker.stats();
 * ```
 */
export interface RpcWorkerStats {
  /** Calls delivered by the broker. */
  received: number;
  /** Calls answered with a result or end of stream. */
  succeeded: number;
  /** Calls answered with an error reply (any cause). */
  failed: number;
  /** Calls answered without running, because their cancel arrived first. */
  skippedCancelled: number;
  /** Cancels received (direct or on the cancel stream). */
  cancels: number;
  /** Deliveries that were neither calls nor valid cancels; ignored. */
  malformed: number;
  /** Calls running now. */
  running: number;
  /** Calls waiting for a free slot now (see `concurrency`). */
  waiting: number;
  /** Calls answered RPC_RESOURCE_EXHAUSTED because `maxWaiting` calls already waited. */
  refusedBusy: number;
  /** Most calls that ever ran at once. */
  maxRunning: number;
  /** Calls this worker runs at once at most (the `concurrency` option). */
  concurrency: number;
  /** Failed calls by error code (see `maxFailureCodes`); the values add up to `failed`. */
  failures: Record<string, number>;
}

/**
 * A call that finished on a worker (the `call` event).
 *
 * @example
 * ```ts
 * worker.on("call", (c: RpcCallRecord) => histogram.observe({ method: c.method, outcome: c.code }, c.durationMs / 1000));
 * ```
 */
export interface RpcCallRecord {
  service: string;
  method: string;
  /** `OK`, or the code of the error reply (`RPC_UNAVAILABLE` for calls abandoned on close). */
  code: string;
  /** From the handler's start to its end, ms. */
  durationMs: number;
}

/**
 * Events of a worker.
 *
 * @example
 * ```ts
 * worker.on("error", (error) => console.error("rpc worker:", error.message));
 * ```
 */
export interface RpcWorkerEvents {
  /** Something went wrong outside any handler (a connection error, a failed send). */
  error: (error: Error) => void;
  /** A handler finished (calls answered without running are not reported). Costs nothing while nobody listens. */
  call: (call: RpcCallRecord) => void;
}

/**
 * A running worker.
 *
 * @example
 * ```ts
 * const worker: RpcWorker = await serve(endpoint, qwen3vl, handlers);
 * process.on("SIGTERM", () => void worker.close());
 * ```
 */
export interface RpcWorker {
  readonly service: string;
  /** The mailbox address that takes cancels. */
  readonly address: string;
  stats(): RpcWorkerStats;
  on<E extends keyof RpcWorkerEvents>(event: E, handler: RpcWorkerEvents[E]): RpcWorker;
  off<E extends keyof RpcWorkerEvents>(event: E, handler: RpcWorkerEvents[E]): RpcWorker;
  /**
   * Stops taking calls, lets running ones finish for up to `drainTimeout` ms, aborts the rest
   * (unanswered, so the broker requeues them to another worker), then disconnects.
   */
  close(): Promise<void>;
}
