// The machinery behind a client's proxies: encoding and sending calls, routing replies to
// pending calls by id, deadlines, cancels and withdrawals, and what a lost session does to
// calls in flight. connect() (client.ts) builds one per connection.
import { ConfirmStatus } from "../../broker/status.ts";
import type { MlmClient } from "../../client/client.ts";
import type { Confirmation, Delivery } from "../../client/types.ts";
import { CallTable } from "./call-table.ts";
import { CodeCounts, DEFAULT_MAX_FAILURE_CODES } from "../shared/code-counts.ts";
import { cancelSubject } from "../wire/cancel-subject.ts";
import { binaryFrameThreshold, encodePayload, payloadBytes } from "../wire/codec.ts";
import { isStreamMethod, type ServiceContract } from "../contract.ts";
import { type CallHeader, type CancelHeader, decodeFrames, encodeHeader, type Header, payloadOffset } from "../wire/envelope.ts";
import {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcPayloadTooLargeError, RpcUnavailableError,
  RpcUnknownKindError, RpcValidationError,
} from "../errors.ts";
import { DeadlineTimer } from "../shared/deadline-timer.ts";
import { writeCallHeader } from "../wire/header-fast.ts";
import { CallIds } from "../wire/ids.ts";
import { SCHEMA_SCRATCH } from "../wire/schema-codec.ts";
import { type MethodInfo, methodInfo } from "../shared/method-info.ts";
import { type CallHost, MAX_TIMER_MS, type PendingCall, StreamCall, UnaryCall } from "./pending.ts";
import type { CallOptions } from "../types.ts";
import { invalid } from "../shared/validate.ts";
import { type OtelApi, withTraceContext } from "../otel.ts";
import type { RpcClientOptions, RpcClientStats } from "./options.ts";

const MiB = 1024 * 1024;

/** The machinery behind the proxies: pending calls by id, the reply router, cancels. */
export class ClientCore implements CallHost {
  readonly validateOutput: boolean;
  readonly maxBufferedChunks: number;
  readonly #mlm: MlmClient;
  readonly #pending = new CallTable<PendingCall>();
  readonly #ids = new CallIds();
  readonly #defaultTimeout: number;
  readonly #maxPayload: number;
  readonly #binaryFrameThreshold: number;
  readonly #stats = { calls: 0, stale: 0, malformed: 0, unknownKinds: 0, cancels: 0, acks: 0, withdrawn: 0, resent: 0, failedOnLoss: 0 };
  readonly #resend: boolean;
  /**
   * Number of the session calls are written into: bumped when a session is lost, so calls
   * made while it is down (held by the MLM client, written after the re-open) carry the new one.
   */
  #session = 0;
  readonly #onLost = (): void => this.#sessionLost();
  readonly #onBack = (): void => this.#sessionBack();
  #closed = false;
  readonly #unsubscribe: () => void;
  readonly #deadlines = new DeadlineTimer<PendingCall>((call) => call.expire());
  readonly #onConfirm = (c: Confirmation): void => this.#confirmed(c);
  // What #prepare worked out besides the frames (an object per call would be garbage at once).
  #deadline = 0;
  #remaining = 0;
  /** The OpenTelemetry API when it is installed and tracing is on. */
  readonly #otel: OtelApi | undefined;
  readonly #failures: CodeCounts;

  constructor(mlm: MlmClient, options: RpcClientOptions, otel: OtelApi | undefined) {
    this.#mlm = mlm;
    this.#otel = otel;
    this.#failures = new CodeCounts(options.maxFailureCodes ?? DEFAULT_MAX_FAILURE_CODES);
    this.#defaultTimeout = options.defaultTimeout ?? 30_000;
    this.#maxPayload = options.maxPayload ?? 64 * MiB;
    this.#binaryFrameThreshold = binaryFrameThreshold(options.binaryFrameThreshold);
    this.validateOutput = options.validateOutput ?? true;
    this.maxBufferedChunks = options.maxBufferedChunks ?? 10_000;
    this.#resend = options.resendOnReconnect ?? true;
    this.#unsubscribe = mlm.onDelivery((d) => this.#delivered(d));
    mlm.on("confirm", this.#onConfirm);
    mlm.on("disconnected", this.#onLost);
    mlm.on("connected", this.#onBack);
  }

  stats(): RpcClientStats {
    return { ...this.#stats, pending: this.#pending.size, failures: this.#failures.snapshot() };
  }

  proxy(contract: ServiceContract): Record<string, unknown> {
    const proxy: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(contract.methods)) {
      const info = methodInfo(contract.name, name, schema);
      proxy[name] = isStreamMethod(schema)
        ? (input: unknown, options?: CallOptions<unknown>) => this.#stream(info, input, options)
        : (input: unknown, options?: CallOptions<unknown>) => this.#unary(info, input, options);
    }
    return Object.freeze(proxy);
  }

  #unary(info: MethodInfo, input: unknown, options?: CallOptions<unknown>): Promise<unknown> {
    try {
      const callId = this.#ids.next();
      const frames = this.#prepare(info, input, callId, options);
      const call = new UnaryCall(this, callId, info, this.#deadline, options?.onProgress as ((value: unknown) => void) | undefined);
      call.seq = this.#ids.seq;
      this.#launch(call, frames, this.#remaining, options);
      return call.promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #stream(info: MethodInfo, input: unknown, options?: CallOptions<unknown>): StreamCall {
    const now = Date.now();
    const callId = this.#ids.next();
    let frames: Uint8Array[];
    try {
      frames = this.#prepare(info, input, callId, options);
    } catch (error) {
      // Surface the failure on the first iteration, like any other failure of the stream.
      const call = new StreamCall(this, callId, info, now);
      call.fail(error as RpcError, false);
      return call;
    }
    const call = new StreamCall(this, callId, info, this.#deadline);
    call.seq = this.#ids.seq;
    this.#launch(call, frames, this.#remaining, options);
    return call;
  }

  /**
   * Checks and encodes a call, returning its frames (deadline and remaining ms are left in
   * #deadline and #remaining); throws the error the caller should get.
   */
  #prepare(info: MethodInfo, input: unknown, callId: string, options?: CallOptions<unknown>): Uint8Array[] {
    const label = info.label;
    if (this.#closed) throw new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${label}: the client is closed`);
    if (options?.signal?.aborted) throw new RpcCancelledError(`${label} was cancelled`, { cause: options.signal.reason });
    if (!info.input.Check(input)) throw invalid(info.schema.input, input, "input", label);
    const now = Date.now();
    const timeout = options?.timeout ?? info.schema.timeout ?? this.#defaultTimeout;
    let deadline = now + Math.min(Math.max(0, timeout), MAX_TIMER_MS);
    if (options?.deadline !== undefined && options.deadline < deadline) deadline = options.deadline;
    const remaining = Math.ceil(deadline - now);
    if (!(remaining > 0)) throw new RpcDeadlineError(`${label}: the deadline has already passed`);
    this.#deadline = deadline;
    this.#remaining = remaining;
    let meta = options?.meta;
    if (this.#otel !== undefined) meta = withTraceContext(this.#otel, meta);
    let header: Uint8Array;
    // A broker without extensions (C Malamute) may deliver a queued call with another message's
    // tracker: the header then carries the call id as well, and the worker answers with it.
    const id = this.#mlm.brokerFeatures.extended ? undefined : callId;
    if (meta === undefined && id === undefined && Number.isSafeInteger(deadline)) {
      // The usual header, written once into the compiled encoder's buffer ahead of the payload;
      // should that encoder give up, the general one copies it from there.
      const headerLength = writeCallHeader(SCHEMA_SCRATCH, remaining, deadline);
      const frame = info.inputCodec?.encodeAfter(input, headerLength, this.#binaryFrameThreshold);
      if (frame !== undefined) return this.#checkSize([frame], headerLength, label);
      header = SCHEMA_SCRATCH.subarray(0, headerLength);
    } else {
      const call: CallHeader = { kind: "call", timeout: remaining, deadline };
      if (id !== undefined) call.id = id;
      if (meta !== undefined) call.meta = meta;
      header = encodeHeader(call);
    }
    let payload: Uint8Array[];
    try {
      payload = encodePayload(input, this.#binaryFrameThreshold, header);
    } catch (cause) {
      // Schemas such as Type.Any() admit values msgpack cannot carry (functions, symbols...).
      const message = `cannot be encoded as msgpack: ${(cause as Error)?.message ?? String(cause)}`;
      throw new RpcValidationError("input", [{ path: "", message }], label);
    }
    return this.#checkSize(payload, header.length, label);
  }

  /** `payload` (the frames of a call whose header is `headerLength` bytes), if within maxPayload. */
  #checkSize(payload: Uint8Array[], headerLength: number, label: string): Uint8Array[] {
    const size = payload.length === 1 ? (payload[0] as Uint8Array).byteLength - headerLength : payloadBytes(payload, headerLength);
    if (size > this.#maxPayload) {
      throw new RpcPayloadTooLargeError(`input of ${label}`, size, this.#maxPayload);
    }
    return payload;
  }

  #launch(call: PendingCall, frames: Uint8Array[], remaining: number, options?: CallOptions<unknown>): void {
    this.#pending.add(call);
    this.#stats.calls++;
    call.session = this.#session;
    if (this.#resend) call.frames = frames;
    try {
      this.#mlm.sendFor(call.info.service, call.info.method, frames, { tracker: call.callId, timeout: remaining });
    } catch (error) {
      call.fail(new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${call.info.label}: ${(error as Error).message}`, { cause: error }), false);
      return;
    }
    this.#deadlines.add(call);
    call.watch(options?.signal);
  }

  failed(code: string): void {
    this.#failures.add(code);
  }

  finished(call: PendingCall, cancelRemote: RpcError | undefined): void {
    this.#pending.delete(call);
    this.#deadlines.remove(call);
    call.frames = undefined;
    if (cancelRemote !== undefined && !this.#closed) {
      this.#cancel(call.callId, call.info.service, call.worker, call.deadline, cancelRemote.code);
    }
  }

  /**
   * Tell the worker running the call to stop it. Before any ack nobody knows which worker has
   * it, if any: the call is withdrawn from the broker's queue (brokers with the `withdraw`
   * feature), and the cancel goes on the cancel stream under a subject only workers of
   * `service` listen to. A call that merely ran out of time before any ack needs neither:
   * the broker expires it in its queue, and a worker drops a call whose deadline has passed.
   */
  #cancel(callId: string, service: string, worker: string | undefined, deadline: number, code: string): void {
    const expired = code === RpcErrorCode.DEADLINE_EXCEEDED;
    if (worker === undefined && expired) return;
    const header: CancelHeader = worker === undefined ? { kind: "cancel", deadline } : { kind: "cancel" };
    if (expired) header.code = code;
    const frames = [encodeHeader(header)];
    try {
      if (worker !== undefined) {
        // A cancel for a worker that is gone must not wait in the broker forever.
        const timeout = Math.min(Math.max(1000, Math.ceil(deadline - Date.now())), MAX_TIMER_MS);
        this.#mlm.sendTo(worker, "cancel", frames, { tracker: callId, timeout });
      } else {
        if (this.#mlm.withdraw(callId)) this.#stats.withdrawn++;
        this.#mlm.send(cancelSubject(service, callId), frames);
      }
      this.#stats.cancels++;
    } catch {
      // Not connected: the call's deadline still bounds the work on the worker.
    }
  }

  #sessionLost(): void {
    const lost = this.#session++;
    if (this.#resend || this.#closed) return;
    for (const call of this.#pending.values()) {
      if (call.session > lost) continue;
      this.#stats.failedOnLoss++;
      call.fail(new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${call.info.label}: the session with the broker was lost while the call was in flight`), false);
    }
  }

  /** The session is back: calls written into a lost one go again (see `resendOnReconnect`). */
  #sessionBack(): void {
    if (!this.#resend || this.#closed) return;
    const now = Date.now();
    for (const call of this.#pending.values()) {
      if (call.session >= this.#session || call.frames === undefined) continue;
      call.session = this.#session;
      const remaining = Math.ceil(call.deadline - now);
      // Past its deadline: the deadline timer fails it on its next tick.
      if (!(remaining > 0)) continue;
      try {
        this.#mlm.sendFor(call.info.service, call.info.method, call.frames, { tracker: call.callId, timeout: remaining });
        this.#stats.resent++;
      } catch {
        // Lost again already: the next re-open tries again.
        call.session = this.#session - 1;
      }
    }
  }

  #delivered(delivery: Delivery): void {
    if (delivery.kind !== "mailbox") {
      this.#stats.malformed++;
      return;
    }
    const call = this.#pending.get(delivery.tracker);
    let header: Header;
    let offset: number;
    try {
      header = decodeFrames(delivery.content);
      offset = payloadOffset();
    } catch (error) {
      if (error instanceof RpcUnknownKindError) {
        this.#stats.unknownKinds++;
        return;
      }
      this.#stats.malformed++;
      call?.fail(error as RpcError, true);
      return;
    }
    if (call === undefined) {
      this.#stats.stale++;
      // A requeued call started again after it settled here: stop the wasted run.
      if (header.kind === "ack") {
        this.#cancel(delivery.tracker, "", header.worker || delivery.sender, Date.now(), RpcErrorCode.CANCELLED);
      }
      return;
    }
    if (header.kind === "ack") this.#stats.acks++;
    call.receive(header, delivery.content, offset, delivery.sender);
  }

  #confirmed(confirmation: Confirmation): void {
    if (confirmation.code < 300) return;
    const call = this.#pending.get(confirmation.tracker);
    if (call === undefined) return;
    const label = call.info.label;
    const reason = confirmation.reason ? ` (${confirmation.reason})` : "";
    switch (confirmation.code) {
      case ConfirmStatus.EXPIRED:
        call.fail(new RpcDeadlineError(`${label}: the deadline passed while the call waited in the broker${reason}`), false);
        break;
      case ConfirmStatus.LIMIT:
        call.fail(new RpcUnavailableError(RpcErrorCode.RESOURCE_EXHAUSTED, `${label}: refused by a broker limit${reason}`, { details: confirmation }), false);
        break;
      default:
        call.fail(new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${label}: the broker could not deliver the call, status ${confirmation.code}${reason}`, { details: confirmation }), false);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of this.#pending.values()) {
      call.fail(new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, `${call.info.service}.${call.info.method}: the client closed`), false);
    }
    this.#deadlines.clear();
    this.#unsubscribe();
    this.#mlm.off("confirm", this.#onConfirm);
    this.#mlm.off("disconnected", this.#onLost);
    this.#mlm.off("connected", this.#onBack);
    await this.#mlm.close();
  }
}
