import { MlmClient } from "../../client/client.ts";
import type { Delivery, MlmClientOptions } from "../../client/types.ts";
import type { CurveClientOptions, Transport } from "../../transport/types.ts";
import { Emitter } from "../../util/emitter.ts";
import { callIdOfCancel, cancelPattern } from "../wire/cancel-subject.ts";
import { EarlyCancels } from "./cancels.ts";
import { CodeCounts, DEFAULT_MAX_FAILURE_CODES } from "../shared/code-counts.ts";
import { binaryFrameThreshold, decodePayload, payloadBytes } from "../wire/codec.ts";
import type { MethodSchema, ServiceContract } from "../contract.ts";
import { CANCEL_STREAM, type CallHeader, decodeFrames, type Header, payloadOffset } from "../wire/envelope.ts";
import {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcPayloadTooLargeError, RpcProtocolError,
  RpcUnavailableError,
} from "../errors.ts";
import { randomHex } from "../wire/ids.ts";
import { type MethodInfo, methodInfo } from "../shared/method-info.ts";
import { Reply, type ReplySink } from "./reply.ts";
import { RunningCall, RunningCalls } from "./running.ts";
import type { Handlers, HandlerContext } from "../types.ts";
import { invalid } from "../shared/validate.ts";
import { endSpan, loadOtel, malamuteTracer, type OtelApi, type OtelContext, remoteContext, SPAN_KIND_SERVER } from "../otel.ts";
import { type WaitingCall, WaitingCalls } from "./waiting.ts";

const MiB = 1024 * 1024;

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

/**
 * Serves a contract: takes calls of `contract.name` from the broker and runs `handlers`.
 * `concurrency` is sent to the broker as MLM credit, so a busy worker gets no further call;
 * on a broker that ignores credit (C Malamute, found out by HELLO: see `MlmClient.brokerFeatures`)
 * the worker holds the extra calls itself and still never runs more than `concurrency` at once,
 * and it sends no CONFIRM there (C Malamute would drop the session, losing the replies behind it).
 * A handler may be an async function, or an async generator for a streaming method.
 *
 * @example
 * ```ts
 * import { serve } from "malamute";
 * import { qwen3vl } from "./contracts.ts";
 *
 * const worker = await serve("tcp://127.0.0.1:9999", qwen3vl, {
 *   infer: async ({ prompt }, ctx) => {
 *     ctx.progress({ tokens: 1 });
 *     return { text: `echo: ${prompt}` };
 *   },
 *   tokens: async function* ({ prompt }, ctx) {
 *     for (const word of prompt.split(" ")) {
 *       if (ctx.signal.aborted) return;
 *       yield word;
 *     }
 *   },
 * }, { concurrency: 1 });
 * // later: await worker.close();
 * ```
 */
export async function serve<C extends ServiceContract>(
  endpoint: string,
  contract: C,
  handlers: Handlers<C>,
  options: ServeOptions = {},
): Promise<RpcWorker> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 65535) {
    throw new RpcError(RpcErrorCode.INTERNAL, `concurrency must be an integer from 1 to 65535, got ${concurrency}`);
  }
  for (const name of Object.keys(contract.methods)) {
    if (typeof (handlers as Record<string, unknown>)[name] !== "function") {
      throw new RpcError(RpcErrorCode.INTERNAL, `${contract.name}: no handler for method ${name}`);
    }
  }
  const address = options.address ?? `rpc-worker-${contract.name}-${randomHex(6)}`;
  // No "stored" CONFIRM for replies: a caller learns the outcome from the reply itself.
  const base: MlmClientOptions = { storedConfirms: false, ...options.mlm };
  if (options.transport !== undefined) base.transport = options.transport;
  if (options.curve !== undefined) base.curve = options.curve;

  // The control connection gets cancels, and confirms none of its mailbox deliveries.
  const [control, otel] = await Promise.all([
    MlmClient.connect(endpoint, { noMailboxConfirms: true, ...base, address }),
    loadOtel(options.tracing ?? true),
  ]);
  let service: MlmClient | undefined;
  try {
    await control.setConsumer(CANCEL_STREAM, cancelPattern(contract.name));
    service = await MlmClient.connect(endpoint, { ...base, credit: concurrency, manualCredit: true });
    const worker = new Worker(contract, handlers as unknown as Record<string, AnyHandler>, control, service, address, options, otel);
    await service.setWorker(contract.name, ".*");
    return worker;
  } catch (error) {
    await Promise.allSettled([control.close(), service?.close()]);
    throw error;
  }
}

type AnyHandler = (input: unknown, ctx: HandlerContext<unknown>) => unknown;

/** A method with its compiled validators (see {@link methodInfo}) and its handler. */
interface MethodEntry extends MethodInfo {
  handler: AnyHandler;
}

class Worker implements RpcWorker, ReplySink {
  readonly service: string;
  readonly address: string;
  /** Per method: schema, handler and the label of its errors, found with one lookup per call. */
  readonly #methods = new Map<string, MethodEntry>();
  readonly #control: MlmClient;
  readonly #mlm: MlmClient;
  readonly maxPayload: number;
  readonly binaryFrameThreshold: number;
  readonly #drainTimeout: number;
  readonly #ackAfter: number;
  readonly #early: EarlyCancels;
  /** Running calls; at most `concurrency` of them, so cancels find theirs by a scan. */
  readonly #running = new RunningCalls();
  readonly #events = new Emitter<RpcWorkerEvents>();
  readonly #stats = { received: 0, succeeded: 0, failed: 0, skippedCancelled: 0, cancels: 0, malformed: 0, running: 0, maxRunning: 0, refusedBusy: 0 };
  readonly #concurrency: number;
  #starting = false;
  readonly #maxWaiting: number;
  readonly #waiting = new WaitingCalls((call) => {
    reject(call.reply, new RpcDeadlineError("missed its deadline while waiting for a free slot on the worker"));
  });
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #otel: OtelApi | undefined;
  /** Whether anyone listens to `call` events (then durations are measured). */
  #observed = false;
  readonly #failures: CodeCounts;

  constructor(
    contract: ServiceContract,
    handlers: Record<string, AnyHandler>,
    control: MlmClient,
    mlm: MlmClient,
    address: string,
    options: ServeOptions,
    otel: OtelApi | undefined,
  ) {
    this.service = contract.name;
    this.#otel = otel;
    this.#failures = new CodeCounts(options.maxFailureCodes ?? DEFAULT_MAX_FAILURE_CODES);
    this.address = address;
    for (const [name, schema] of Object.entries(contract.methods)) {
      const handler = handlers[name];
      // Compiled now, at worker start, rather than on the first call.
      if (handler !== undefined) this.#methods.set(name, { ...methodInfo(contract.name, name, schema), handler });
    }
    this.#control = control;
    this.#mlm = mlm;
    this.maxPayload = options.maxPayload ?? 64 * MiB;
    this.binaryFrameThreshold = binaryFrameThreshold(options.binaryFrameThreshold);
    this.#drainTimeout = options.drainTimeout ?? 10_000;
    this.#ackAfter = Math.max(1, options.ackAfter ?? 10);
    this.#early = new EarlyCancels(options.cancelMemory ?? 10_000);
    this.#concurrency = options.concurrency ?? 1;
    this.#maxWaiting = options.maxWaiting ?? 10_000;
    const report = (error: Error): void => this.reportError(error);
    control.on("error", report);
    mlm.on("error", report);
    control.onDelivery((d) => this.#onControl(d));
    mlm.onDelivery((d) => this.#onCall(d));
  }

  stats(): RpcWorkerStats {
    return { ...this.#stats, waiting: this.#waiting.size, concurrency: this.#concurrency, failures: this.#failures.snapshot() };
  }

  on<E extends keyof RpcWorkerEvents>(event: E, handler: RpcWorkerEvents[E]): RpcWorker {
    this.#events.on(event, handler);
    this.#observed = this.#events.listens("call");
    return this;
  }

  off<E extends keyof RpcWorkerEvents>(event: E, handler: RpcWorkerEvents[E]): RpcWorker {
    this.#events.off(event, handler);
    this.#observed = this.#events.listens("call");
    return this;
  }

  // ---- cancels

  #onControl(delivery: Delivery): void {
    const callId = delivery.kind === "stream" ? callIdOfCancel(this.service, delivery.subject) : delivery.tracker;
    let header: Header;
    try {
      header = decodeFrames(delivery.content);
    } catch {
      this.#stats.malformed++;
      return;
    }
    if (header.kind !== "cancel" || callId === "") {
      this.#stats.malformed++;
      return;
    }
    this.#stats.cancels++;
    let found = false;
    for (const run of this.#running.list()) {
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
    const waiting = this.#waiting.take(callKey(delivery.sender, callId));
    if (waiting !== undefined) {
      this.#stats.skippedCancelled++;
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
    this.#early.add(callKey(delivery.sender, callId), Math.min(header.deadline ?? now + 60_000, now + 3_600_000), now);
  }

  // ---- calls

  #onCall(delivery: Delivery): void {
    // While closing, a call is left unconfirmed: when the connection closes the broker requeues it.
    if (this.#closing !== undefined) return;
    if (delivery.kind !== "service") {
      // Nothing else should reach the call connection; it still spent a credit, so give it back.
      this.#stats.malformed++;
      this.finish(delivery, undefined);
      return;
    }
    this.#stats.received++;
    const now = Date.now();
    let header: CallHeader;
    let offset: number;
    try {
      const decoded = decodeFrames(delivery.content);
      if (decoded.kind !== "call") throw new RpcProtocolError(`expected a call, got ${decoded.kind}`);
      header = decoded;
      offset = payloadOffset();
    } catch (error) {
      reject(new Reply(this, delivery), error);
      return;
    }
    // The header's id wins: C Malamute may deliver a queued call with another message's tracker.
    const reply = new Reply(this, delivery, header.id ?? delivery.tracker);
    const entry = this.#methods.get(delivery.subject);
    if (entry === undefined) {
      reject(reply, new RpcError(RpcErrorCode.UNKNOWN_METHOD, `${this.service} has no method ${JSON.stringify(delivery.subject)}`));
      return;
    }
    if (this.#early.size > 0 && this.#early.take(callKey(delivery.sender, reply.callId), now)) {
      this.#stats.skippedCancelled++;
      reject(reply, new RpcCancelledError(`call ${reply.callId} was cancelled before it started`));
      return;
    }
    const size = payloadBytes(delivery.content, offset);
    if (size > this.maxPayload) {
      reject(reply, new RpcPayloadTooLargeError("input", size, this.maxPayload));
      return;
    }
    const deadline = callDeadline(header, now);
    // The caller's absolute deadline was trusted (plausible on our clock): it dates the call.
    if (deadline === header.deadline) reply.sentAt = header.deadline - header.timeout;
    // MLM timeout 0 = never expires: the replies of a call without deadline wait like the call did.
    reply.timeout = deadline === Infinity ? 0 : Math.min(Math.max(0, deadline - now) + REPLY_GRACE_MS, 0xffffffff);
    let input: unknown;
    try {
      input = decodePayload(delivery.content, offset, "input", entry.inputCodec);
      if (!entry.input.Check(input)) throw invalid(entry.schema.input, input, "input", entry.label);
    } catch (error) {
      reject(reply, error);
      return;
    }
    const meta = header.meta ?? NO_META;
    if (this.#stats.running < this.#concurrency) {
      this.#run(new RunningCall(reply, entry, deadline, meta, now), entry, input);
      return;
    }
    this.#wait(reply, entry, input, meta, deadline);
  }

  /** Holds a call beyond `concurrency` (from a broker that ignores credit) until a slot is free. */
  #wait(reply: Reply, entry: MethodEntry, input: unknown, meta: Readonly<Record<string, string>>, deadline: number): void {
    const key = callKey(reply.delivery.sender, reply.callId);
    if (this.#waiting.has(key)) {
      // The same call delivered again while its first copy waits: that copy answers it.
      reply.done();
      return;
    }
    if (this.#waiting.size >= this.#maxWaiting) {
      this.#stats.refusedBusy++;
      reject(reply, new RpcError(RpcErrorCode.RESOURCE_EXHAUSTED, `${this.#maxWaiting} calls already wait for this worker`));
      return;
    }
    this.#waiting.add({ key, reply, info: entry, input, meta, deadline, heapIndex: -1, queuePos: -1 });
  }

  /** Starts waiting calls while slots are free. */
  #startWaiting(): void {
    // A handler that throws at once ends its call inside #run: the loop below goes on, rather
    // than a nested call per waiting call.
    if (this.#starting) return;
    this.#starting = true;
    try {
      this.#startWaitingNow();
    } finally {
      this.#starting = false;
    }
  }

  #startWaitingNow(): void {
    while (this.#waiting.size > 0 && this.#stats.running < this.#concurrency && this.#closing === undefined) {
      const call = this.#waiting.next() as WaitingCall;
      const now = Date.now();
      if (now >= call.deadline) {
        reject(call.reply, new RpcDeadlineError("missed its deadline while waiting for a free slot on the worker"));
        continue;
      }
      if (this.#early.size > 0 && this.#early.take(call.key, now)) {
        this.#stats.skippedCancelled++;
        reject(call.reply, new RpcCancelledError(`call ${call.reply.callId} was cancelled before it started`));
        continue;
      }
      const entry = call.info as MethodEntry;
      this.#run(new RunningCall(call.reply, entry, call.deadline, call.meta, now), entry, call.input);
    }
  }

  #run(run: RunningCall, entry: MethodEntry, input: unknown): void {
    this.#track(run);
    if (this.#observed) run.clock = performance.now();
    const otel = this.#otel;
    if (otel !== undefined && run.meta !== NO_META) {
      const context = this.#startSpan(otel, run);
      if (context !== undefined) {
        otel.context.with(context, () => this.#start(run, entry, input));
        return;
      }
    }
    this.#start(run, entry, input);
  }

  /** Starts the span of a call that carries trace context; returns the context to run its handler in. */
  #startSpan(otel: OtelApi, run: RunningCall): OtelContext | undefined {
    const parent = remoteContext(otel, run.meta);
    if (parent === undefined) return undefined;
    const attributes: Record<string, string | number> = {
      "rpc.system": "malamute",
      "rpc.service": this.service,
      "rpc.method": run.method,
      "malamute.rpc.call_id": run.callId,
    };
    const wait = run.startedAt - run.reply.sentAt;
    if (wait >= 0) attributes["malamute.rpc.queue_wait_ms"] = wait;
    run.span = malamuteTracer(otel).startSpan(`${this.service}/${run.method}`, { kind: SPAN_KIND_SERVER, attributes }, parent);
    return otel.trace.setSpan(parent, run.span);
  }

  /** Reports a finished handler: ends its span, emits `call`. */
  #ended(run: RunningCall): void {
    const failure = run.reply.failure;
    const code = failure?.code ?? (run.abandoned ? (run.abortReason?.code ?? RpcErrorCode.UNAVAILABLE) : "OK");
    if (run.span !== undefined) endSpan(run.span, code, failure?.message);
    if (this.#observed && run.clock > 0) {
      this.#events.emit("call", { service: this.service, method: run.method, code, durationMs: performance.now() - run.clock });
    }
  }

  #start(run: RunningCall, entry: MethodEntry, input: unknown): void {
    if (entry.chunk !== undefined) {
      void this.#runStream(run, entry, input);
      return;
    }
    // Unary: a promise reaction instead of an async function, which costs a promise and a
    // suspended frame per call. Promise.resolve keeps `await`'s timing for plain values and thenables.
    let output: unknown;
    try {
      output = entry.handler(input, run);
    } catch (error) {
      this.#settle(run, false, error);
      return;
    }
    Promise.resolve(output).then((value) => this.#settle(run, true, value), (error: unknown) => this.#settle(run, false, error));
  }

  /** Answers a unary call with its handler's `outcome` (the output, or what it threw), then confirms. */
  #settle(run: RunningCall, returned: boolean, outcome: unknown): void {
    const reply = run.reply;
    try {
      if (!returned) throw outcome;
      if (run.abortReason !== undefined) throw run.abortReason;
      const info = run.info;
      if (!(info.output as NonNullable<MethodInfo["output"]>).Check(outcome)) {
        throw invalid(info.schema.output as NonNullable<MethodSchema["output"]>, outcome, "output", info.label);
      }
      reply.result(outcome, info.outputCodec);
      this.#stats.succeeded++;
    } catch (error) {
      // Whatever the handler threw after an abort, the caller learns why it was aborted.
      if (!run.abandoned) reply.fail(run.abortReason ?? error);
    }
    this.#untrack(run);
    if (run.span !== undefined || run.clock > 0) this.#ended(run);
    if (!run.abandoned) reply.done();
    if (this.#waiting.size > 0) this.#startWaiting();
  }

  async #runStream(run: RunningCall, entry: MethodEntry, input: unknown): Promise<void> {
    const { schema, handler, label } = entry;
    const reply = run.reply;
    try {
      let seq = 0;
      const chunks = handler(input, run) as AsyncIterable<unknown> | Iterable<unknown>;
      for await (const chunk of chunks) {
        if (run.abortReason !== undefined) break;
        if (!(entry.chunk as NonNullable<MethodInfo["chunk"]>).Check(chunk)) {
          throw invalid(schema.chunk as NonNullable<MethodSchema["chunk"]>, chunk, "chunk", label);
        }
        reply.chunk(seq++, chunk, entry.chunkCodec);
      }
      if (run.abortReason !== undefined) throw run.abortReason;
      reply.end(seq);
      this.#stats.succeeded++;
    } catch (error) {
      // Whatever the handler threw after an abort, the caller learns why it was aborted.
      if (!run.abandoned) reply.fail(run.abortReason ?? error);
    } finally {
      this.#untrack(run);
      if (run.span !== undefined || run.clock > 0) this.#ended(run);
      if (!run.abandoned) reply.done();
      if (this.#waiting.size > 0) this.#startWaiting();
    }
  }

  #track(run: RunningCall): void {
    this.#running.add(run);
    if (++this.#stats.running > this.#stats.maxRunning) this.#stats.maxRunning = this.#stats.running;
    this.#sweeper ??= setInterval(() => this.#sweep(), this.#ackAfter);
  }

  #untrack(run: RunningCall): void {
    this.#running.remove(run);
    // The sweeper stops itself on its next idle tick: stopping it here would cost a timer per call.
    if (--this.#stats.running === 0) this.#drained?.();
  }

  /** Acknowledges calls that run long enough to be worth cancelling, and enforces deadlines. */
  #sweep(): void {
    if (this.#stats.running === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      return;
    }
    const now = Date.now();
    for (const run of this.#running.list()) {
      if (!run.acked && now - run.startedAt >= this.#ackAfter) {
        run.acked = true;
        run.reply.ack(this.address);
      }
      if (now >= run.deadline && run.abortReason === undefined) {
        run.abort(new RpcDeadlineError("missed its deadline on the worker"));
      }
    }
  }

  // ---- ReplySink

  send(delivery: Delivery, callId: string, subject: string, frames: Uint8Array[], timeout: number): void {
    if (delivery.sender === "") return;
    try {
      this.#mlm.sendTo(delivery.sender, subject, frames, { tracker: callId, timeout });
    } catch (error) {
      this.reportError(error);
    }
  }

  finish(delivery: Delivery, failedCode: string | undefined): void {
    if (failedCode !== undefined) {
      this.#stats.failed++;
      this.#failures.add(failedCode);
    }
    try {
      this.#mlm.confirm(delivery);
      this.#mlm.addCredit(1);
    } catch (error) {
      this.reportError(error);
    }
  }

  reportError(error: unknown): void {
    if (this.#events.listens("error")) {
      this.#events.emit("error", error instanceof Error ? error : new RpcError(RpcErrorCode.INTERNAL, String(error)));
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // Only a broker that ignores credit sent these, and it would not requeue them: answer now.
    for (const call of this.#waiting.drain()) {
      reject(call.reply, new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${this.service} worker is closing`));
    }
    if (this.#stats.running > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, this.#drainTimeout);
      });
      clearTimeout(timer);
      const reason = new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${this.service} worker is closing`);
      for (const run of this.#running.list()) {
        run.abandoned = true;
        run.abort(reason);
      }
    }
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await Promise.allSettled([this.#mlm.close(), this.#control.close()]);
  }
}

/** Call ids are unique per caller: this identifies a call among every caller's. */
function callKey(caller: string, callId: string): string {
  return `${caller}\n${callId}`;
}

/**
 * When a call must end, on this worker's clock. `timeout` 0 means no deadline, as MLM's
 * `timeout` 0 means "never expires" (the broker keeps such a call queued for good); `deadline`
 * is then ignored. Otherwise the caller's absolute deadline is trusted only when it is plausible
 * on our clock (no large skew), else `now + timeout`.
 */
function callDeadline(header: CallHeader, now: number): number {
  if (header.timeout === 0) return Infinity;
  const byTimeout = now + header.timeout;
  return header.deadline > now && header.deadline < byTimeout ? header.deadline : byTimeout;
}

/** Answers a call that never reaches its handler. */
function reject(reply: Reply, error: unknown): void {
  reply.fail(error);
  reply.done();
}

/** How long after the call's deadline an uncollected reply may stay in the broker. */
const REPLY_GRACE_MS = 5_000;

const NO_META: Readonly<Record<string, string>> = Object.freeze({});
