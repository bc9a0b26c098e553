import { ConfirmStatus } from "../../broker/status.ts";
import { MlmClient } from "../../client/client.ts";
import { MlmError } from "../../client/errors.ts";
import type { Confirmation, Delivery, MlmClientOptions } from "../../client/types.ts";
import type { CurveClientOptions, Transport } from "../../transport/types.ts";
import { CallTable } from "./call-table.ts";
import { CodeCounts, DEFAULT_MAX_FAILURE_CODES } from "../shared/code-counts.ts";
import { cancelSubject } from "../wire/cancel-subject.ts";
import { binaryFrameThreshold, encodePayload, payloadBytes } from "../wire/codec.ts";
import { isStreamMethod, type ServiceContract } from "../contract.ts";
import { CANCEL_STREAM, type CallHeader, type CancelHeader, decodeFrames, encodeHeader, type Header, payloadOffset } from "../wire/envelope.ts";
import {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcPayloadTooLargeError, RpcUnavailableError,
  RpcUnknownKindError, RpcValidationError,
} from "../errors.ts";
import { DeadlineTimer } from "../shared/deadline-timer.ts";
import { writeCallHeader } from "../wire/header-fast.ts";
import { CallIds, randomHex } from "../wire/ids.ts";
import { SCHEMA_SCRATCH } from "../wire/schema-codec.ts";
import { type MethodInfo, methodInfo } from "../shared/method-info.ts";
import { type CallHost, MAX_TIMER_MS, type PendingCall, StreamCall, UnaryCall } from "./pending.ts";
import type { CallOptions, ContractMap, ServiceClient } from "../types.ts";
import { invalid } from "../shared/validate.ts";
import { loadOtel, type OtelApi, withTraceContext } from "../otel.ts";

const MiB = 1024 * 1024;

/**
 * Options of {@link connect}.
 *
 * @example
 * ```ts
 * const client = await connect("tcp://127.0.0.1:9999", { qwen3vl }, { defaultTimeout: 60_000, maxPayload: 256 * 1024 * 1024 });
 * ```
 */
export interface RpcClientOptions {
  /** Mailbox address for replies. Default `rpc-client-<random>`; must be unique on the broker. */
  address?: string;
  /** Deadline of calls whose method and options set none, ms. Default 30000. */
  defaultTimeout?: number;
  /** Largest encoded input (payload plus binary frames) accepted for sending, bytes. Default 64 MiB (the broker's default message limit). */
  maxPayload?: number;
  /**
   * Uint8Arrays of at least this many bytes in inputs are sent as binary frames of their own,
   * by reference, instead of being copied into the msgpack payload (docs/rpc-wire.md): do not
   * modify them until the call settles. Default 64 KiB; 0 or Infinity: never.
   */
  binaryFrameThreshold?: number;
  /** Check outputs and chunks against their schemas on arrival too. Default true. */
  validateOutput?: boolean;
  /** Chunks of one streaming call held while the caller does not read; beyond it the call fails. Default 10000. */
  maxBufferedChunks?: number;
  /** Socket factory. Default: the `zmtp` TCP transport. */
  transport?: Transport;
  /**
   * ZMTP CURVE keys (encrypted connection, broker authenticated by `serverKey`), the same as
   * the `curve` option of {@link MlmClient.connect}, which wins over `mlm.curve`.
   *
   * @example
   * ```ts
   * const client = await connect(endpoint, { qwen3vl }, { curve: { serverKey, publicKey, secretKey } });
   * ```
   */
  curve?: CurveClientOptions;
  /**
   * What happens to calls in flight when the session with the broker is lost (broker restart,
   * crash, stall): calls written before the loss and not settled when the session is back.
   *
   * - `true` (default): each is sent again, once per lost session, right after the re-open,
   *   with the same call id and what is left of its deadline. The broker may have lost it (a
   *   restarted broker starts empty), and waiting out a deadline of minutes for a call that no
   *   longer exists anywhere is the worst outcome. The same id makes this safe for the caller:
   *   the first final reply settles the call and any later one (the original run's, if it
   *   survived) is ignored. The price: a call that did survive may run twice on workers.
   * - `false`: they fail at once, when the loss is noticed, with `RPC_UNAVAILABLE`, for
   *   callers that must never run a call twice and prefer to decide themselves.
   *
   * Calls made while the session is down are held and sent after the re-open either way.
   */
  resendOnReconnect?: boolean;
  /**
   * W3C trace context: when `@opentelemetry/api` is installed and a span is active at the call,
   * its `traceparent` and `tracestate` go in the call's `meta` (keys set in `options.meta` win),
   * so the worker's span becomes its child. `false`: never, and the API is not even loaded.
   * Default true.
   */
  tracing?: boolean;
  /**
   * Distinct error codes counted in `stats().failures`; failures with further codes are
   * counted under `OTHER`. Default 64.
   */
  maxFailureCodes?: number;
  /**
   * Further options of the underlying {@link MlmClient}. `noMailboxConfirms` defaults to true
   * here: the client never confirms replies, so the broker need not remember routes for them.
   * `storedConfirms` defaults to false: a call's outcome is its reply, a "stored" CONFIRM per
   * call would be traffic for nothing.
   */
  mlm?: Omit<MlmClientOptions, "address" | "transport">;
}

/**
 * Counters of an RPC client.
 *
 * @example
 * ```ts
 * const { pending, stale } = client.stats();
 * ```
 */
export interface RpcClientStats {
  /** Calls sent. */
  calls: number;
  /** Calls in flight now. */
  pending: number;
  /** Envelopes for calls already settled (duplicates after a requeue, late replies); ignored. */
  stale: number;
  /** Deliveries that were not valid envelopes for a known call; ignored. */
  malformed: number;
  /** Replies of an envelope kind this version does not know (a later version's informative kinds); ignored. */
  unknownKinds: number;
  /** Cancels sent to workers (direct or on the cancel stream). */
  cancels: number;
  /** WITHDRAWs sent: calls cancelled before any ack, taken back from the broker's queue. */
  withdrawn: number;
  /** Calls sent again after the session with the broker was lost and re-opened. */
  resent: number;
  /** Calls failed with RPC_UNAVAILABLE when the session was lost (`resendOnReconnect: false`). */
  failedOnLoss: number;
  /** Acks received: calls a worker reported as running (fast calls are not acked). */
  acks: number;
  /** Calls that failed, by error code (remote, deadline, cancel, unavailable...; see `maxFailureCodes`). */
  failures: Record<string, number>;
}

/**
 * The members an RPC client has besides its services.
 *
 * @example
 * ```ts
 * console.log(client.address, client.stats().calls);
 * await client.close();
 * ```
 */
export interface RpcClientControl {
  /** The reply mailbox address. */
  readonly address: string;
  /** The underlying MLM client. */
  readonly mlm: MlmClient;
  stats(): RpcClientStats;
  /** Fails every pending call with RpcUnavailableError and closes the connection. */
  close(): Promise<void>;
}

/**
 * A connected client: one typed proxy per contract, under the key it was given.
 *
 * @example
 * ```ts
 * const client: RpcClient<{ qwen3vl: typeof qwen3vl }> = await connect(endpoint, { qwen3vl });
 * ```
 */
export type RpcClient<S extends ContractMap> = { readonly [K in keyof S]: ServiceClient<S[K]> } & RpcClientControl;

const RESERVED = new Set(["address", "mlm", "stats", "close", "then", "catch", "finally", "constructor"]);

/**
 * Connects to a broker and returns a typed client for the given contracts. One client (one
 * connection) serves any number of concurrent calls to any of its services.
 *
 * Cancelling a call (its `signal`, or `stream.cancel()`) before any worker acknowledged it
 * withdraws it from the broker's queue (WITHDRAW, on brokers whose HELLO lists `withdraw`), so
 * it never runs, even on a worker that connects later; the cancel also goes to the workers of
 * its service, in case one already has it. On a broker without `withdraw` (C Malamute) only
 * that live cancel is sent: a worker connecting after it can still run the call (its result is
 * then ignored). A call that merely runs out of time before any ack sends no cancel: the broker
 * expires it and a worker drops a call whose deadline has passed.
 *
 * @example
 * ```ts
 * import { connect } from "malamute";
 * import { qwen3vl, zimage } from "./contracts.ts";
 *
 * const client = await connect("tcp://127.0.0.1:9999", { qwen3vl, zimage });
 * const { text } = await client.qwen3vl.infer({ prompt: "Describe", image }, {
 *   timeout: 30_000,
 *   onProgress: (p) => console.log(p.tokens),
 * });
 * for await (const token of client.qwen3vl.tokens({ prompt: "Hi" })) console.log(token);
 * await client.close();
 * ```
 */
export async function connect<const S extends ContractMap>(
  endpoint: string,
  services: S,
  options: RpcClientOptions = {},
): Promise<RpcClient<S>> {
  for (const key of Object.keys(services)) {
    if (RESERVED.has(key)) throw new RpcError(RpcErrorCode.INTERNAL, `"${key}" cannot name a service on a client`);
  }
  const address = options.address ?? `rpc-client-${randomHex(8)}`;
  const mlmOptions: MlmClientOptions = { noMailboxConfirms: true, storedConfirms: false, ...options.mlm, address };
  if (options.transport !== undefined) mlmOptions.transport = options.transport;
  if (options.curve !== undefined) mlmOptions.curve = options.curve;
  const [mlm, otel] = await Promise.all([
    MlmClient.connect(endpoint, mlmOptions).catch((error: unknown) => {
      throw unavailable(error);
    }),
    loadOtel(options.tracing ?? true),
  ]);
  try {
    await mlm.setProducer(CANCEL_STREAM);
  } catch (error) {
    await mlm.close().catch(() => {});
    throw error;
  }
  const core = new ClientCore(mlm, options, otel);
  const client: Record<string, unknown> = {
    address,
    mlm,
    stats: () => core.stats(),
    close: () => core.close(),
  };
  for (const [key, contract] of Object.entries(services)) client[key] = core.proxy(contract);
  return Object.freeze(client) as RpcClient<S>;
}

/** The machinery behind the proxies: pending calls by id, the reply router, cancels. */
class ClientCore implements CallHost {
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

/**
 * A broker that cannot be reached (refused, unresolved, handshake refused, no answer in time) is
 * an RPC failure like any other: `RpcUnavailableError` with the MLM error as `cause`, so one
 * `instanceof RpcError` catches it. Bad options stay as they are.
 */
function unavailable(error: unknown): unknown {
  if (!(error instanceof MlmError)) return error;
  if (error.code !== "MLM_UNREACHABLE" && error.code !== "MLM_TIMEOUT" && error.code !== "MLM_NOT_CONNECTED") return error;
  return new RpcUnavailableError(RpcErrorCode.UNAVAILABLE, error.message, { cause: error });
}
