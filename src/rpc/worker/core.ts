// The machinery behind serve(): takes calls from the broker, checks and decodes them, runs
// their handlers within `concurrency` (holding the extra calls of a broker that ignores credit),
// answers them, acks long calls, enforces deadlines, and drains on close.
import type { MlmClient } from "../../client/client.ts";
import type { Delivery } from "../../client/types.ts";
import { Emitter } from "../../util/emitter.ts";
import { EarlyCancels } from "./cancels.ts";
import { CodeCounts, DEFAULT_MAX_FAILURE_CODES } from "../shared/code-counts.ts";
import { binaryFrameThreshold, decodePayload, payloadBytes } from "../wire/codec.ts";
import type { MethodSchema, ServiceContract } from "../contract.ts";
import { type CallHeader, decodeFrames, payloadOffset } from "../wire/envelope.ts";
import {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcPayloadTooLargeError, RpcProtocolError,
  RpcUnavailableError,
} from "../errors.ts";
import { type MethodInfo, methodInfo } from "../shared/method-info.ts";
import { Reply, type ReplySink } from "./reply.ts";
import { RunningCall, RunningCalls } from "./running.ts";
import type { HandlerContext } from "../types.ts";
import { invalid } from "../shared/validate.ts";
import { endSpan, type OtelApi } from "../otel.ts";
import { type WaitingCall, WaitingCalls } from "./waiting.ts";
import { callDeadline, callKey, NO_META, reject, REPLY_GRACE_MS } from "./calls.ts";
import { type CancelTargets, routeCancel } from "./cancel-route.ts";
import { startCallSpan } from "./tracing.ts";
import type { RpcWorker, RpcWorkerEvents, RpcWorkerStats, ServeOptions } from "./options.ts";

const MiB = 1024 * 1024;

export type AnyHandler = (input: unknown, ctx: HandlerContext<unknown>) => unknown;

/** A method with its compiled validators (see {@link methodInfo}) and its handler. */
interface MethodEntry extends MethodInfo {
  handler: AnyHandler;
}

export class Worker implements RpcWorker, ReplySink {
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
    const cancels: CancelTargets = { service: this.service, running: this.#running, waiting: this.#waiting, early: this.#early, stats: this.#stats };
    control.onDelivery((d) => routeCancel(cancels, d));
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
      const context = startCallSpan(otel, this.service, run);
      if (context !== undefined) {
        otel.context.with(context, () => this.#start(run, entry, input));
        return;
      }
    }
    this.#start(run, entry, input);
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
