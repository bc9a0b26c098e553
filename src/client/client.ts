import { ADDRESS_TAKEN, decode, encode } from "../proto/mod.ts";
import { describeError } from "../util/system-code.ts";
import type { MailboxSend, MlmMessage, ServiceSend, StreamSend } from "../proto/mod.ts";
import { compilePattern } from "../proto/pattern.ts";
import { TransportError } from "../transport/errors.ts";
import { ZmtpError } from "../zmtp/errors.ts";
import type { DealerSocket, Frames, Transport } from "../transport/types.ts";
import { zmtp } from "../transport/zmtp.ts";
import { Emitter } from "../util/emitter.ts";
import { badArgument, toFrames } from "./content.ts";
import { CreditWindow } from "./receive/credit.ts";
import { MlmError, statusError } from "./errors.ts";
import { Consumers } from "./streams/consumers.ts";
import { DurableSends } from "./send/durable.ts";
import type { DurableWaiter } from "./send/durable.ts";
import {
  type BrokerFeatures, CLASSIC_BROKER, FEATURE_REPLAY, FEATURE_STORED, helloFrames, NO_MAILBOX_CONFIRMS, parseHelloAnswer,
  STORED_CODE, STORED_CONFIRMS, WITHDRAW_CODE,
} from "./features.ts";
import { Inbox } from "./receive/inbox.ts";
import { DEFAULT_RECONNECT, resolveOptions } from "./options.ts";
import type { ResolvedOptions } from "./options.ts";
import { Fifo } from "./queue.ts";
import { Registrations } from "./session/registrations.ts";
import { Message } from "./message.ts";
import { Requests } from "./receive/request.ts";
import type { RequestOptions } from "./receive/request.ts";
import { Routes, Subscription } from "./receive/routes.ts";
import type { RouteOptions } from "./receive/routes.ts";
import { WaitingSends } from "./send/when-ready.ts";
import type { WhenReadyOptions } from "./send/when-ready.ts";
import type { Registration, RegistrationMessage } from "./session/registrations.ts";
import { checkConsumerName, STREAM_SERVICE, wireFrom } from "./streams/stream-service.ts";
import type {
  ClientStats, Confirmation, ConsumerOptions, ConsumerPosition, ContentInput, Delivery, DurableSendOptions, MlmClientOptions,
  SendOptions,
} from "./types.ts";

/**
 * Events of an {@link MlmClient}.
 *
 * @example
 * ```ts
 * client.on("disconnected", (reason) => console.warn("lost:", reason));
 * client.on("connected", () => console.info("re-opened and replayed"));
 * ```
 */
export interface MlmClientEvents {
  /** The broker forwarded the outcome of a tracked message this client sent. */
  confirm: (confirmation: Confirmation) => void;
  /** The session was re-opened and every registration replayed. */
  connected: () => void;
  /** The session was lost (connection dropped, broker silent, or broker forgot us). */
  disconnected: (reason: string) => void;
  /** Something went wrong that no pending call can report (dropped delivery, refused CONFIRM...). */
  error: (error: Error) => void;
}

/**
 * Where the session is:
 * - connecting: first CONNECTION-OPEN not answered yet (connect() pending);
 * - open: OK received; everything is written straight to the socket;
 * - opening: a re-open's CONNECTION-OPEN is waiting for OK;
 * - down: no session; waiting for the transport or for the backoff timer;
 * - closing / closed: close() was called (or reconnect is off and the session died).
 */
type State = "connecting" | "open" | "opening" | "down" | "closing" | "closed";

/** A role command (OK/ERROR expected) issued by the application. */
interface Command {
  readonly kind: "command";
  readonly frames: Frames;
  readonly what: string;
  readonly entry: Registration | undefined;
  readonly resolve: () => void;
  readonly reject: (error: MlmError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  settled: boolean;
  seq: number;
}

/** A message written to the broker whose OK/ERROR we are waiting for, in sending order. */
type Expectation =
  | Command
  | { readonly kind: "hello"; readonly seq: number }
  | { readonly kind: "open"; readonly seq: number }
  | { readonly kind: "replay"; readonly entry: Registration; readonly seq: number }
  | { readonly kind: "close"; readonly seq: number; readonly done: () => void };

type Outgoing = StreamSend | MailboxSend | ServiceSend;

/** A send made while the session was down, written after the next re-open. */
interface HeldSend {
  readonly kind: "send";
  readonly message: Outgoing;
  readonly frames: Frames;
  readonly at: number;
  /** Set for a durable send: it is written only while its waiter still waits. */
  readonly durable?: DurableWaiter;
}

const PING_FRAMES = encode({ type: "CONNECTION_PING" });
const CLOSE_FRAMES = encode({ type: "CONNECTION_CLOSE" });
/** Upper bound on how long close() waits for the broker's OK. */
const CLOSE_WAIT_MS = 1000;

const now = (): number => performance.now();

/**
 * A Malamute client: the whole `mlm_client` surface (mailboxes, streams, services), plus
 * credit-based flow control, broker CONFIRMs, heartbeats and automatic re-open with replay
 * of every registration.
 *
 * Sends are fire-and-forget and synchronous (no promise per message). Role commands
 * (`setProducer`, `setConsumer`, `removeConsumer`, `setWorker`) resolve on the broker's OK
 * and reject with an {@link MlmError} carrying the status on ERROR. Deliveries are read with
 * `receive()`, `for await`, or pushed to `onDelivery` handlers.
 *
 * @example
 * ```ts
 * import { MlmClient } from "malamute";
 *
 * const writer = await MlmClient.connect("tcp://127.0.0.1:9999", { address: "writer" });
 * const reader = await MlmClient.connect("tcp://127.0.0.1:9999", { address: "reader" });
 * await writer.setProducer("weather");
 * await reader.setConsumer("weather", "temp.*");
 * writer.send("temp.moscow", "-5.5");
 * const d = await reader.receive();
 * console.log(d.kind, d.subject, new TextDecoder().decode(d.content[0])); // stream temp.moscow -5.5
 * await Promise.all([writer.close(), reader.close()]);
 * ```
 */
export class MlmClient {
  /** This client's mailbox address ("" when anonymous). */
  readonly address: string;
  readonly #endpoint: string;
  readonly #options: ResolvedOptions;
  readonly #openFrames: Frames;
  readonly #helloFrames: Frames;
  readonly #transport: Transport;
  #dealer: DealerSocket;
  /** Closing of connections given up for a fresh one (awaited by close(), so nothing leaks). */
  readonly #retired = new Set<Promise<void>>();
  #features: BrokerFeatures = CLASSIC_BROKER;
  /** The last failed connection attempt while connect() waits, named by its timeout error. */
  #lastAttemptError: Error | undefined;
  #canConfirm = false;
  readonly #events = new Emitter<MlmClientEvents>();
  readonly #inbox: Inbox;
  readonly #credit: CreditWindow;
  readonly #registrations = new Registrations();
  readonly #pending = new Fifo<Expectation>();
  readonly #pingSeqs = new Fifo<number>();
  #held: Array<Command | HeldSend> = [];
  #heldSends = 0;
  #state: State = "connecting";
  #openSent = false;
  #attempt = 0;
  #replaysLeft = 0;
  // Sequence numbers of written requests, to tell which request an ERROR answers.
  #seq = 0;
  #answeredSeq = 0;
  #lastConfirmSeq = 0;
  // A STREAM-SEND before any producer was accepted may earn an ERROR 300 too (no writer).
  #lastRiskySendSeq = 0;
  #producerAccepted = false;
  #confirmsRefused = false;
  #producerRequested = false;
  #lastHeard = 0;
  /**
   * Whether anything arrived since the last heartbeat tick, which then moves #lastHeard: a
   * clock read per message costs more than the rest of handling a small one. Silence is thus
   * noticed up to one heartbeat late, never early.
   */
  #heard = false;
  #openedAt = 0;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #connectWaiter: { resolve: () => void; reject: (error: MlmError) => void } | undefined;
  #closing: Promise<void> | undefined;
  #shutdownDone: Promise<void> = Promise.resolve();
  readonly #durable: DurableSends;
  readonly #consumers: Consumers;
  readonly #routes: Routes;
  readonly #requests: Requests;
  readonly #waiting: WaitingSends;
  readonly #stats = {
    received: 0, droppedDeliveries: 0, expiredSends: 0, skippedConfirms: 0, malformed: 0, reopens: 0, limitRefusals: 0,
    duplicateDeliveries: 0,
  };

  private constructor(endpoint: string, options: ResolvedOptions, transport: Transport) {
    // deno-lint-ignore no-this-alias
    const client = this;
    this.#endpoint = endpoint;
    this.#options = options;
    this.address = options.address;
    this.#openFrames = encodeOrThrow({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: options.address });
    this.#helloFrames = helloFrames((options.noMailboxConfirms ? NO_MAILBOX_CONFIRMS : 0) | (options.storedConfirms ? STORED_CONFIRMS : 0));
    this.#durable = new DurableSends(options.maxDurableSends);
    this.#consumers = new Consumers({
      get open() {
        return client.#state === "open";
      },
      timeout: options.timeout,
      send: (subject, tracker, content) =>
        this.#state === "open" &&
        this.#writeQuiet(encode({ type: "SERVICE_SEND", address: STREAM_SERVICE, subject, tracker, timeout: 0, content: [content] })),
      error: (error) => this.#events.emit("error", error),
      replayAnswered: () => this.#replayAnswered(),
    }, options.maxConsumers);
    this.#transport = transport;
    this.#credit = new CreditWindow(options.credit, options.manualCredit, (amount) => {
      if (this.#state === "open") this.#writeQuiet(encode({ type: "CREDIT", amount }));
    });
    this.#inbox = new Inbox(options.receiveBuffer, {
      consumed: (delivery, handed) => {
        this.#credit.consumed();
        if (handed && delivery.seq !== undefined) this.#consumers.handed(delivery);
      },
      overflow: (delivery) => this.#overflow(delivery),
      handlerError: (error) => this.#events.emit("error", asError(error)),
    });
    this.#routes = new Routes({
      consumed: (delivery, handed) => {
        this.#credit.consumed();
        if (handed && delivery.seq !== undefined) this.#consumers.handed(delivery);
      },
      overflow: (delivery, limit) => this.#overflow(delivery, limit, "subscription buffer"),
    });
    this.#requests = new Requests(options.maxRequests, this.#routes.hooks);
    this.#waiting = new WaitingSends(options.maxWaitingSends);
    this.#events.on("connected", () => this.#waiting.wake());
    this.#dealer = this.#newDealer();
  }

  #newDealer(): DealerSocket {
    const options = this.#options;
    const reconnect = options.reconnect;
    const dealer = this.#transport.dealer({
      ...(options.plain ? { plain: options.plain } : {}),
      ...(options.curve ? { curve: options.curve } : {}),
      ...(reconnect ? { reconnectInterval: reconnect.interval, reconnectIntervalMax: reconnect.max } : {}),
    });
    dealer.on("message", this.#onMessage);
    dealer.on("connect", this.#onTransportConnect);
    dealer.on("disconnect", this.#onTransportDisconnect);
    dealer.on("attemptFailed", this.#onAttemptFailed);
    dealer.on("error", this.#onTransportError);
    return dealer;
  }

  #detach(dealer: DealerSocket): void {
    dealer.off("message", this.#onMessage);
    dealer.off("connect", this.#onTransportConnect);
    dealer.off("disconnect", this.#onTransportDisconnect);
  }

  /**
   * Give up the connection for a new one. Used when the session is lost while the connection
   * itself is still up (broker silent, ERROR 500, OPEN unanswered): on the old connection, the
   * answers to what we wrote before (PINGs, a first OPEN) may still come, and a stale ERROR 500
   * would be taken for the answer to the new OPEN. A fresh connection has nothing in flight.
   */
  #freshConnection(): void {
    const old = this.#dealer;
    this.#detach(old);
    const closing = old.close().catch(() => {}).finally(() => {
      old.off("error", this.#onTransportError);
      this.#retired.delete(closing);
    });
    this.#retired.add(closing);
    this.#dealer = this.#newDealer();
    try {
      this.#dealer.connect(this.#endpoint);
    } catch (err) {
      this.#events.emit("error", asError(err));
      return;
    }
    if (this.#dealer.connected) this.#sendOpen();
  }

  /**
   * Connect to a broker and open a session. Resolves once the broker answered OK to
   * CONNECTION-OPEN; rejects with `MLM_TIMEOUT` after `options.timeout` ms (leaving nothing
   * running), or `MLM_BAD_ARGUMENT` for bad options or endpoint.
   *
   * @example
   * ```ts
   * const client = await MlmClient.connect("tcp://127.0.0.1:9999", { address: "alice", timeout: 2000 });
   * ```
   */
  static async connect(endpoint: string, options: MlmClientOptions = {}): Promise<MlmClient> {
    const resolved = resolveOptions(options);
    const client = new MlmClient(endpoint, resolved, options.transport ?? zmtp);
    await client.#start();
    return client;
  }

  /**
   * True while a session is open (the broker answered OK and has not been lost since).
   *
   * @example
   * ```ts
   * if (!client.connected) console.warn("sends are being held until the session is back");
   * ```
   */
  get connected(): boolean {
    return this.#state === "open";
  }

  /**
   * What the broker of the current (or last) connection supports, learned from its answer to
   * the HELLO sent before every CONNECTION-OPEN (docs/mlm-extensions.md). A C Malamute broker
   * answers HELLO with ERROR 500: `extended` is false, and the client then sends no CONFIRM
   * (counted in `stats().skippedConfirms`) and no WITHDRAW.
   *
   * @example
   * ```ts
   * const client = await MlmClient.connect("tcp://127.0.0.1:9999");
   * if (!client.brokerFeatures.extended) console.warn("C Malamute: no confirmations, no credit");
   * console.log(client.brokerFeatures.features); // ["confirm", "credit", "withdraw"] on ours
   * ```
   */
  get brokerFeatures(): BrokerFeatures {
    return this.#features;
  }

  /**
   * Counters for monitoring.
   *
   * @example
   * ```ts
   * console.log(client.stats().received);
   * ```
   */
  stats(): ClientStats {
    return {
      ...this.#stats, buffered: this.#inbox.buffered, pendingSends: this.#heldSends, pendingDurable: this.#durable.size,
      consumers: this.#consumers.size,
    };
  }

  // ---------------------------------------------------------------- role commands

  /**
   * Make `stream` this client's producer stream (STREAM-WRITE); `send()` publishes to it.
   *
   * @example
   * ```ts
   * await client.setProducer("weather");
   * client.send("temp.moscow", "-5.5");
   * ```
   */
  setProducer(stream: string): Promise<void> {
    return this.#command({ type: "STREAM_WRITE", stream }, `setProducer(${JSON.stringify(stream)})`, true);
  }

  /**
   * Receive messages of `stream` whose subject matches `pattern` (STREAM-READ). The pattern is
   * a zrex regular expression searched anywhere in the subject.
   *
   * With `options`, it starts a journal **consumer** instead (docs/mlm-extensions.md §4; the
   * broker must list `replay` in {@link brokerFeatures}, else `MLM_UNSUPPORTED`): history from
   * `from` (default `"new"`), then live entries with no gap and no duplicate; each delivery
   * carries its sequence number in `seq`. It resolves with the broker's `{ next, head }`, and
   * rejects with `MLM_CONSUMER_REFUSED` (`brokerCode`) when the broker refuses, `MLM_LIMIT`
   * beyond `maxConsumers`, `MLM_BAD_ARGUMENT` for a bad `from` or when the stream also has a
   * plain subscription on this client. After a re-open the client reads on where it stopped:
   * a durable consumer (`durable: name`) resumes after its acknowledged position (at least
   * once), any other one at the entry after the last it received. A second call on the same
   * stream replaces the consumer.
   *
   * @example
   * ```ts
   * await client.setConsumer("weather", "^temp\\.");
   * const { head } = await client.setConsumer("forge.events", ".*", { from: { last: 100 }, durable: "dashboard" });
   * for await (const d of client) console.log(d.seq, d.subject);
   * ```
   */
  setConsumer(stream: string, pattern: string): Promise<void>;
  setConsumer(stream: string, pattern: string, options: ConsumerOptions): Promise<ConsumerPosition>;
  setConsumer(stream: string, pattern: string, options?: ConsumerOptions): Promise<void | ConsumerPosition> {
    const what = `setConsumer(${JSON.stringify(stream)})`;
    if (options === undefined) {
      if (this.#consumers.routes(stream)) {
        return Promise.reject(badArgument(`${what}: the stream has a consumer on this client; cancel it before a plain subscription`));
      }
      const invalid = invalidPattern(what, pattern);
      if (invalid !== undefined) return Promise.reject(invalid);
      return this.#command({ type: "STREAM_READ", stream, pattern }, what, true);
    }
    return this.#startConsumer(stream, pattern, options, what);
  }

  #startConsumer(stream: string, pattern: string, options: ConsumerOptions, what: string): Promise<ConsumerPosition> {
    try {
      this.#assertOpenForUse();
      if (typeof options !== "object" || options === null) throw badArgument(`${what}: options must be an object`);
      // Checked like the STREAM-READ it stands for: names and patterns the codec would refuse.
      encodeOrThrow({ type: "STREAM_READ", stream, pattern });
      const invalid = invalidPattern(what, pattern);
      if (invalid !== undefined) throw invalid;
      const from = wireFrom(options.from);
      const name = options.durable === undefined ? undefined : checkConsumerName(options.durable);
      if (!this.#features.features.includes(FEATURE_REPLAY)) {
        throw new MlmError("MLM_UNSUPPORTED", `${what}: the broker keeps no stream journal (no \`replay\` feature)`);
      }
      if (this.#registrations.hasStream(stream)) {
        throw badArgument(`${what}: the stream has a plain subscription on this client; removeConsumer() it first`);
      }
      if (this.#consumers.size >= this.#consumers.limit && !this.#consumers.has(stream)) {
        this.#stats.limitRefusals++;
        throw new MlmError("MLM_LIMIT", `${what}: this client already holds ${this.#consumers.limit} consumers (maxConsumers)`);
      }
      return this.#consumers.start(stream, pattern, from, name, options.autoAck !== false);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * End the journal consumer of `stream` (CANCEL through `malamute.stream`); a durable
   * consumer's acknowledgements are sent first and the broker keeps its position. Resolves once
   * the broker answered (at once when there is no consumer or no session).
   *
   * @example
   * ```ts
   * await client.cancelConsumer("forge.events");
   * ```
   */
  cancelConsumer(stream: string): Promise<void> {
    try {
      this.#assertOpenForUse();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#consumers.cancel(stream);
  }

  /**
   * Acknowledge a delivery of a durable consumer set with `autoAck: false`, and every earlier
   * entry of its stream. Sent in batches like automatic acknowledgements (at most every 100 ms
   * or 256 entries, and on close). Returns false when the delivery is not from a durable
   * consumer that still runs (nothing to do).
   *
   * @example
   * ```ts
   * await client.setConsumer("jobs", ".*", { durable: "indexer", autoAck: false });
   * const d = await client.receive();
   * await index(d);
   * client.ack(d);
   * ```
   */
  ack(delivery: Delivery): boolean {
    if (typeof delivery !== "object" || delivery === null) throw badArgument("ack() needs a delivery");
    if (delivery.seq === undefined) return false;
    return this.#consumers.ack(Message.origin(delivery));
  }

  /**
   * Stop receiving `stream` (STREAM-CANCEL): every pattern of that stream is dropped, and none
   * is replayed after a re-open. It ends the stream's journal consumer too.
   *
   * @example
   * ```ts
   * await client.removeConsumer("weather");
   * ```
   */
  removeConsumer(stream: string): Promise<void> {
    this.#consumers.detach(stream);
    const done = this.#command({ type: "STREAM_CANCEL", stream }, `removeConsumer(${JSON.stringify(stream)})`, false);
    const detached = () => this.#consumers.detached(stream);
    done.then(detached, detached);
    return done;
  }

  /**
   * Offer to handle requests for `service` whose subject matches `pattern` (SERVICE-OFFER).
   *
   * @example
   * ```ts
   * await client.setWorker("echo", ".*");
   * for await (const job of client) client.sendTo(job.sender, job.subject, job.content, { tracker: job.tracker });
   * ```
   */
  setWorker(service: string, pattern: string): Promise<void> {
    const what = `setWorker(${JSON.stringify(service)})`;
    const invalid = invalidPattern(what, pattern);
    if (invalid !== undefined) return Promise.reject(invalid);
    return this.#command({ type: "SERVICE_OFFER", address: service, pattern }, what, true);
  }

  // ---------------------------------------------------------------- sends

  /**
   * Publish to the producer stream (STREAM-SEND). Needs `setProducer()` first (throws
   * `MLM_BAD_ARGUMENT` otherwise, instead of letting the broker drop the session).
   *
   * @example
   * ```ts
   * client.send("temp.moscow", ["-5.5", new Uint8Array([1, 2])]);
   * ```
   */
  send(subject: string, content: ContentInput): void {
    if (!this.#producerRequested && this.#state !== "closed" && this.#state !== "closing") {
      throw badArgument("send() publishes to the producer stream: call setProducer() first");
    }
    this.#post({ type: "STREAM_SEND", subject, content: toFrames(content) });
    if (!this.#producerAccepted) this.#lastRiskySendSeq = ++this.#seq;
  }

  /**
   * Send to the mailbox `address` (MAILBOX-SEND). Fire-and-forget; with `durable: true` it
   * returns a promise that resolves once the broker has stored the message (see
   * {@link DurableSendOptions}).
   *
   * @example
   * ```ts
   * client.sendTo("bob", "hello", "hi bob", { tracker: "m-1", timeout: 5000 });
   * await client.sendTo("bob", "invoice", body, { tracker: "inv-7", durable: true }); // stored
   * ```
   */
  sendTo(address: string, subject: string, content: ContentInput, options: DurableSendOptions): Promise<void>;
  sendTo(address: string, subject: string, content: ContentInput, options?: SendOptions): void;
  sendTo(address: string, subject: string, content: ContentInput, options?: SendOptions | DurableSendOptions): void | Promise<void> {
    return this.#send("MAILBOX_SEND", address, subject, content, options);
  }

  /**
   * Send a request to `service` (SERVICE-SEND); one worker whose pattern matches `subject` gets
   * it. With `durable: true` it returns a promise that resolves once the broker has stored the
   * request (see {@link DurableSendOptions}).
   *
   * @example
   * ```ts
   * client.sendFor("echo", "ping", "payload", { tracker: "call-1", timeout: 3000 });
   * await client.sendFor("render", "frame", job, { tracker: "job-17", durable: true }); // queued on disk
   * ```
   */
  sendFor(service: string, subject: string, content: ContentInput, options: DurableSendOptions): Promise<void>;
  sendFor(service: string, subject: string, content: ContentInput, options?: SendOptions): void;
  sendFor(service: string, subject: string, content: ContentInput, options?: SendOptions | DurableSendOptions): void | Promise<void> {
    return this.#send("SERVICE_SEND", service, subject, content, options);
  }

  #send(
    type: "MAILBOX_SEND" | "SERVICE_SEND", address: string, subject: string, content: ContentInput,
    options: SendOptions | DurableSendOptions | undefined,
  ): void | Promise<void> {
    if (options?.durable !== true) {
      this.#post({ type, address, subject, tracker: options?.tracker ?? "", timeout: options?.timeout ?? 0, content: toFrames(content) });
      return;
    }
    try {
      return this.#postDurable({ type, address, subject, tracker: options.tracker, timeout: options.timeout ?? 0, content: toFrames(content) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #postDurable(message: MailboxSend | ServiceSend): Promise<void> {
    const what = `durable ${message.type === "MAILBOX_SEND" ? "sendTo" : "sendFor"}(${JSON.stringify(message.address)})`;
    this.#assertOpenForUse();
    if (typeof message.tracker !== "string" || message.tracker === "") throw badArgument(`${what}: a durable send needs a non-empty tracker`);
    if (!this.#options.storedConfirms) throw new MlmError("MLM_UNSUPPORTED", `${what}: this client was created with storedConfirms: false`);
    if (!this.#features.features.includes(FEATURE_STORED)) {
      throw new MlmError("MLM_UNSUPPORTED", `${what}: the broker cannot confirm storage (no \`stored\` feature; C Malamute?)`);
    }
    if (this.#durable.has(message.tracker)) throw badArgument(`${what}: tracker ${JSON.stringify(message.tracker)} already waits for its answer`);
    if (this.#durable.size >= this.#durable.limit) {
      this.#stats.limitRefusals++;
      throw new MlmError("MLM_LIMIT", `${what}: ${this.#durable.limit} durable sends already wait for their answer (maxDurableSends)`);
    }
    const frames = encodeOrThrow(message);
    return new Promise<void>((resolve, reject) => {
      const waiter: DurableWaiter = { message, at: now(), held: false, resolve, reject };
      if (this.#state === "open") {
        this.#write(frames);
        this.#durable.add(waiter);
        return;
      }
      if (this.#heldSends >= this.#options.sendBuffer) {
        throw new MlmError("MLM_NOT_CONNECTED", `the session is down and ${this.#options.sendBuffer} sends already wait for it`);
      }
      waiter.held = true;
      this.#durable.add(waiter);
      this.#held.push({ kind: "send", message, frames, at: waiter.at, durable: waiter });
      this.#heldSends++;
    });
  }

  // ---------------------------------------------------------------- awaitable sends (when-ready.ts)

  /**
   * `send()` that waits for room instead of throwing `MLM_SEND_QUEUE_FULL` (or
   * `MLM_NOT_CONNECTED` once `sendBuffer` sends wait for a lost session). Waiting sends go out
   * in call order. Rejects with `MLM_TIMEOUT` after `wait` ms (default 30 000), the signal's
   * reason on abort, `MLM_LIMIT` beyond `maxWaitingSends`, `MLM_CLOSED` on close.
   *
   * @example
   * ```ts
   * for (const reading of readings) await client.sendWhenReady("temp.kitchen", reading);
   * ```
   */
  sendWhenReady(subject: string, content: ContentInput, options?: WhenReadyOptions): Promise<void> {
    return this.#waiting.send(() => this.send(subject, content), `sendWhenReady(${JSON.stringify(subject)})`, options);
  }

  /**
   * `sendTo()` that waits for room: see {@link sendWhenReady}.
   *
   * @example
   * ```ts
   * await client.sendToWhenReady("bob", "hello", "hi", { tracker: "m-1", wait: 5000 });
   * ```
   */
  sendToWhenReady(address: string, subject: string, content: ContentInput, options?: SendOptions & WhenReadyOptions): Promise<void> {
    const send = { tracker: options?.tracker ?? "", timeout: options?.timeout ?? 0 };
    return this.#waiting.send(() => this.sendTo(address, subject, content, send), `sendToWhenReady(${JSON.stringify(address)})`, options);
  }

  /**
   * `sendFor()` that waits for room: see {@link sendWhenReady}.
   *
   * @example
   * ```ts
   * await client.sendForWhenReady("render", "frame", job, { signal: AbortSignal.timeout(2000) });
   * ```
   */
  sendForWhenReady(service: string, subject: string, content: ContentInput, options?: SendOptions & WhenReadyOptions): Promise<void> {
    const send = { tracker: options?.tracker ?? "", timeout: options?.timeout ?? 0 };
    return this.#waiting.send(() => this.sendFor(service, subject, content, send), `sendForWhenReady(${JSON.stringify(service)})`, options);
  }

  // ---------------------------------------------------------------- request / reply (request.ts)

  /**
   * Send a request to `service` and wait for the worker's {@link reply}: the tracker and the
   * reply address (this client's mailbox, so the client needs an `address`) are handled. Resolves
   * with the reply; rejects with `MLM_TIMEOUT` after `timeout` ms (default: the client's
   * `timeout`, also the request's time-to-live on the broker), `MLM_FAILED` with `status` when
   * the broker answers with a failure CONFIRM (303 no such service, 301 expired...), the signal's
   * reason on abort, `MLM_LIMIT` beyond `maxRequests`, `MLM_CLOSED` on close.
   *
   * @example
   * ```ts
   * const answer = await client.request("echo", "ping", "hi", { timeout: 2000 });
   * console.log(answer.text());
   * ```
   */
  request(service: string, subject: string, content: ContentInput, options: RequestOptions = {}): Promise<Message> {
    const what = `request(${JSON.stringify(service)}, ${JSON.stringify(subject)})`;
    if (this.address === "") return Promise.reject(badArgument(`${what}: the reply comes to a mailbox: connect with an address`));
    const timeout = options.timeout ?? this.#options.timeout;
    if (!Number.isInteger(timeout) || timeout < 1) return Promise.reject(badArgument(`${what}: timeout must be a positive integer, got ${String(timeout)}`));
    if (!this.#routes.has(this.#requests)) this.#routes.add(this.#requests);
    return this.#requests.start(
      what, timeout, options.signal,
      (tracker) => this.sendFor(service, subject, content, { tracker, timeout }),
      (tracker) => this.withdraw(tracker),
    );
  }

  /**
   * Answer a request (from {@link request}, or any tracked request with a sender): sends
   * `content` to the requester's mailbox with the request's subject and tracker.
   *
   * @example
   * ```ts
   * for await (const job of worker.requests("echo")) worker.reply(job, job.text().toUpperCase());
   * ```
   */
  reply(request: Delivery, content: ContentInput, options: { timeout?: number } = {}): void {
    if (typeof request !== "object" || request === null || request.sender === "" || request.tracker === "") {
      throw badArgument("reply() needs a tracked delivery from a sender with an address (a request)");
    }
    this.sendTo(request.sender, request.subject, content, { tracker: request.tracker, timeout: options.timeout ?? 0 });
  }

  // ---------------------------------------------------------------- per-subscription iterators (routes.ts)

  /**
   * Subscribe to `stream` deliveries whose subject matches `pattern` and iterate them, apart
   * from the shared inbox (`receive()` no longer sees them). With consumer options (`from`,
   * `durable`, `autoAck`) it is a journal consumer as with `setConsumer`. Breaking out of the
   * loop sends STREAM-CANCEL for the stream once no other `consume()` of it runs (it drops every
   * pattern of that stream, `setConsumer` ones included). The first `next()` rejects if the
   * broker refused the subscription. See {@link RouteOptions} for the buffer limit. The broker
   * sends a delivery once per client, so one two `consume()` patterns both match goes to the
   * older subscription only.
   *
   * @example
   * ```ts
   * for await (const m of client.consume("weather", "temp.*")) console.log(m.subject, m.text());
   * ```
   */
  consume(stream: string, pattern: string, options: ConsumerOptions & RouteOptions = {}): Subscription {
    const matcher = compilePattern(pattern);
    const invalid = invalidPattern(`consume(${JSON.stringify(stream)})`, pattern);
    if (invalid) throw invalid;
    const { limit, onFull, ...consumer } = options;
    const journal = consumer.from !== undefined || consumer.durable !== undefined || consumer.autoAck !== undefined;
    const key = `stream:${stream}`;
    return this.#subscribe(key, (d) => d.kind === "stream" && d.address === stream && matcher.matches(d.subject), { limit, onFull },
      journal ? () => this.setConsumer(stream, pattern, consumer).then(() => {}) : () => this.setConsumer(stream, pattern),
      () => (this.#routes.some((s) => s.key === key) || this.#state === "closed" ? Promise.resolve() : this.removeConsumer(stream)));
  }

  /**
   * Iterate the deliveries to this client's mailbox, apart from the shared inbox (request
   * replies excepted). Breaking out only stops the routing: MLM cannot close a mailbox, so later
   * mail goes to `receive()` again.
   *
   * @example
   * ```ts
   * for await (const m of client.mailbox()) console.log(m.sender, m.subject, m.text());
   * ```
   */
  mailbox(options: RouteOptions = {}): Subscription {
    if (this.address === "") throw badArgument("mailbox(): this client is anonymous: connect with an address");
    return this.#subscribe("mailbox", (d) => d.kind === "mailbox", options, () => Promise.resolve(), () => Promise.resolve());
  }

  /**
   * Offer `service` (SERVICE-OFFER for `pattern`, default every subject) and iterate its
   * requests, apart from the shared inbox; answer with {@link reply}. Breaking out only stops the
   * routing: MLM cannot withdraw an offer, so later requests go to `receive()` (close the client
   * to stop serving).
   *
   * @example
   * ```ts
   * for await (const job of worker.requests("echo")) worker.reply(job, job.content);
   * ```
   */
  requests(service: string, pattern = ".*", options: RouteOptions = {}): Subscription {
    const matcher = compilePattern(pattern);
    const invalid = invalidPattern(`requests(${JSON.stringify(service)})`, pattern);
    if (invalid) throw invalid;
    return this.#subscribe(`service:${service}`, (d) => d.kind === "service" && d.address === service && matcher.matches(d.subject), options,
      () => this.setWorker(service, pattern), () => Promise.resolve());
  }

  #subscribe(
    key: string, match: (delivery: Delivery) => boolean, options: RouteOptions, register: () => Promise<void>, stop: () => Promise<void>,
  ): Subscription {
    this.#assertOpenForUse();
    const limit = options.limit ?? this.#options.receiveBuffer;
    if (!Number.isInteger(limit) || limit < 1) throw badArgument(`option limit must be an integer >= 1, got ${String(limit)}`);
    if (options.onFull !== undefined && options.onFull !== "drop" && options.onFull !== "throw") {
      throw badArgument(`option onFull must be "drop" or "throw", got ${String(options.onFull)}`);
    }
    // The route exists before the broker is asked, so no delivery of it can reach the inbox.
    const subscription = new Subscription(this.#routes, key, match, { limit, onFull: options.onFull ?? "drop" }, stop);
    this.#routes.add(subscription);
    let ready: Promise<void>;
    try {
      ready = register();
    } catch (error) {
      ready = Promise.reject(error);
    }
    subscription.started(ready);
    return subscription;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * The next delivery, oldest first. Rejects with `MLM_CLOSED` once the client is closed and
   * the buffer is empty, or with the signal's reason when `signal` aborts.
   *
   * @example
   * ```ts
   * const d = await client.receive({ signal: AbortSignal.timeout(1000) });
   * ```
   */
  receive(options?: { signal?: AbortSignal }): Promise<Delivery> {
    return this.#inbox.receive(options?.signal);
  }

  /**
   * Iterate deliveries; the loop ends when the client is closed.
   *
   * @example
   * ```ts
   * for await (const d of client) console.log(d.subject);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return {
      next: () =>
        this.#inbox.receive().then(
          (value): IteratorResult<Delivery> => ({ done: false, value }),
          (error: unknown): IteratorResult<Delivery> => {
            if (error instanceof MlmError && error.code === "MLM_CLOSED") return { done: true, value: undefined };
            throw error;
          },
        ),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /**
   * Push mode: while at least one handler is registered, every delivery is passed to the
   * handlers (in arrival order, deliveries already buffered first) instead of `receive()`, and
   * counts as consumed for credit when the handlers return. Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const stop = client.onDelivery((d) => console.log(d.kind, d.subject));
   * // later
   * stop();
   * ```
   */
  onDelivery(handler: (delivery: Delivery) => void): () => void {
    if (typeof handler !== "function") throw badArgument("onDelivery needs a function");
    return this.#inbox.onDelivery(handler);
  }

  /**
   * Tell the broker the outcome of a tracked delivery (CONFIRM, default 200). The broker
   * forwards it to the sender. A delivery without tracker needs no confirmation (no-op).
   * Skipped (and counted in `stats().skippedConfirms`) while the session is down, since the
   * broker re-queues the messages of a lost session, and on a broker without the `confirm`
   * feature ({@link brokerFeatures}; C Malamute would answer ERROR 300 and forget the session).
   *
   * @example
   * ```ts
   * const job = await worker.receive();
   * worker.confirm(job);                                   // done
   * worker.confirm(job, { code: 300, reason: "bad input" }); // failed
   * ```
   */
  confirm(delivery: Delivery | string, status?: { code?: number; reason?: string }): void {
    const tracker = typeof delivery === "string" ? delivery : (delivery as Delivery | undefined)?.tracker;
    if (typeof tracker !== "string") throw badArgument("confirm() needs a delivery or a tracker string");
    this.#assertOpenForUse();
    if (tracker === "") return;
    const frames = encodeOrThrow({ type: "CONFIRM", tracker, code: status?.code ?? 200, reason: status?.reason ?? "" });
    if (!this.#canConfirm || this.#confirmsRefused || this.#state !== "open") {
      this.#stats.skippedConfirms++;
      return;
    }
    this.#write(frames);
    this.#lastConfirmSeq = ++this.#seq;
  }

  /**
   * Take back a tracked SERVICE-SEND this client sent, while the broker still holds it
   * (WITHDRAW: CONFIRM with the request's tracker and code 305, docs/mlm-extensions.md §2). A
   * request still queued is never delivered (the broker answers with a `confirm` event, code
   * 305); one already delivered to a credit-aware worker is no longer requeued if that worker
   * goes away. A request still held by this client (session down) is simply dropped.
   *
   * Returns false when nothing could be done: the session is down and the request is not held
   * here, or the broker lacks the `withdraw` feature ({@link brokerFeatures}; C Malamute would
   * drop the session for it).
   *
   * @example
   * ```ts
   * client.sendFor("render", "frame", job, { tracker: "job-17", timeout: 60_000 });
   * // the user changed their mind:
   * if (!client.withdraw("job-17")) console.warn("the request may still run");
   * ```
   */
  withdraw(tracker: string): boolean {
    if (typeof tracker !== "string" || tracker === "") throw badArgument("withdraw() needs a non-empty tracker");
    this.#assertOpenForUse();
    const held = this.#held.findIndex((item) => item.kind === "send" && item.message.type === "SERVICE_SEND" && item.message.tracker === tracker);
    if (held >= 0) {
      const [item] = this.#held.splice(held, 1);
      this.#heldSends--;
      if (item?.kind === "send" && item.durable) this.#durable.failed(tracker, WITHDRAW_CODE, "withdrawn");
      return true;
    }
    if (this.#state !== "open" || !this.#features.features.includes("withdraw")) return false;
    this.#write(encodeOrThrow({ type: "CONFIRM", tracker, code: WITHDRAW_CODE, reason: "" }));
    return true;
  }

  /**
   * Grant the broker `amount` more deliveries (CREDIT). Needed in `manualCredit` mode; in
   * automatic mode it widens the window.
   *
   * @example
   * ```ts
   * const worker = await MlmClient.connect(ep, { credit: 4, manualCredit: true });
   * worker.onDelivery((job) => void run(job).finally(() => worker.addCredit(1)));
   * ```
   */
  addCredit(amount: number): void {
    if (!Number.isInteger(amount) || amount < 0 || amount > 0x7fffffff) {
      throw badArgument("addCredit() needs a non-negative integer");
    }
    if (!this.#credit.enabled) throw badArgument("credit is disabled for this client (credit: false)");
    this.#assertOpenForUse();
    this.#credit.add(amount);
  }

  /**
   * Subscribe to a client event.
   *
   * @example
   * ```ts
   * client.on("error", (e) => console.error(e));
   * ```
   */
  on<E extends keyof MlmClientEvents>(event: E, handler: MlmClientEvents[E]): this {
    this.#events.on(event, handler);
    return this;
  }

  /**
   * Unsubscribe from a client event.
   *
   * @example
   * ```ts
   * const log = (e: Error) => console.error(e);
   * client.on("error", log).off("error", log);
   * ```
   */
  off<E extends keyof MlmClientEvents>(event: E, handler: MlmClientEvents[E]): this {
    this.#events.off(event, handler);
    return this;
  }

  /**
   * Close the session: sends CONNECTION-CLOSE, waits briefly (at most 1 s) for the broker's
   * OK, then closes the socket and stops every timer. Pending commands and `receive()` calls
   * reject with `MLM_CLOSED`; sends still waiting for a session are discarded. Idempotent.
   *
   * @example
   * ```ts
   * await client.close();
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  // ---------------------------------------------------------------- internals: lifecycle

  #start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#connectWaiter = { resolve, reject };
      this.#connectTimer = setTimeout(() => {
        this.#connectTimer = undefined;
        const last = this.#lastAttemptError;
        void this.#failConnect(new MlmError(
          "MLM_TIMEOUT",
          `no OK from the broker at ${this.#endpoint} within ${this.#options.timeout} ms${last ? ` (last attempt: ${describeError(last)})` : ""}`,
          last ? { cause: last } : undefined,
        ));
      }, this.#options.timeout);
      try {
        this.#dealer.connect(this.#endpoint);
      } catch (err) {
        const bad = err instanceof TransportError && err.code === "BAD_ENDPOINT";
        void this.#failConnect(new MlmError(bad ? "MLM_BAD_ARGUMENT" : "MLM_NOT_CONNECTED", asError(err).message, { cause: err }));
        return;
      }
      if (this.#dealer.connected) this.#sendOpen();
    });
  }

  async #failConnect(error: MlmError): Promise<void> {
    const waiter = this.#connectWaiter;
    this.#connectWaiter = undefined;
    await this.#shutdown(error);
    waiter?.reject(error);
  }

  async #closeNow(): Promise<void> {
    if (this.#state === "closed") return this.#shutdownDone;
    const closed = new MlmError("MLM_CLOSED", "the client is closed");
    const wasOpen = this.#state === "open";
    // The last acknowledgements go before CONNECTION-CLOSE (the broker handles them in order).
    if (wasOpen) this.#consumers.flushAll();
    this.#state = "closing";
    this.#stopTimers();
    this.#rejectCommands(closed);
    if (wasOpen && this.#dealer.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(this.#options.timeout, CLOSE_WAIT_MS));
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.#pending.push({ kind: "close", seq: ++this.#seq, done });
        if (!this.#writeQuiet(CLOSE_FRAMES)) done();
      });
    }
    await this.#shutdown(closed);
  }

  /** Release everything: timers, socket, waiting callers. */
  #shutdown(error: MlmError): Promise<void> {
    if (this.#state === "closed") return this.#shutdownDone;
    this.#state = "closed";
    this.#shutdownDone = this.#release(error);
    return this.#shutdownDone;
  }

  async #release(error: MlmError): Promise<void> {
    this.#stopTimers();
    if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    const closed = error.code === "MLM_CLOSED" ? error : new MlmError("MLM_CLOSED", `the client is closed: ${error.message}`, { cause: error });
    this.#rejectCommands(closed);
    this.#durable.rejectAll(closed);
    this.#consumers.release(closed);
    const dealer = this.#dealer;
    this.#detach(dealer);
    this.#inbox.close(closed);
    this.#routes.close(closed);
    this.#requests.close(closed);
    this.#waiting.close(closed);
    try {
      await Promise.all([dealer.close(), ...this.#retired]);
    } finally {
      dealer.off("error", this.#onTransportError);
    }
  }

  #stopTimers(): void {
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#heartbeatTimer = undefined;
    this.#retryTimer = undefined;
  }

  /** Reject every command not answered yet; they stay in #pending to absorb late replies. */
  #rejectCommands(error: MlmError): void {
    for (const item of this.#held) if (item.kind === "command") this.#settle(item, error);
    this.#held = [];
    this.#heldSends = 0;
    for (const item of this.#pending.drain()) {
      if (item.kind === "command") this.#settle(item, error);
      this.#pending.push(item);
    }
  }

  #sendOpen(): void {
    if (this.#state !== "connecting") this.#state = "opening";
    this.#openSent = true;
    // HELLO and OPEN back to back: the answers come in order, so the OPEN costs no extra round trip.
    this.#pending.push({ kind: "hello", seq: ++this.#seq });
    this.#writeQuiet(this.#helloFrames);
    this.#pending.push({ kind: "open", seq: ++this.#seq });
    this.#writeQuiet(this.#openFrames);
    if (this.#state === "opening") {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        if (this.#state === "opening") this.#lost(`no answer to CONNECTION-OPEN within ${this.#options.timeout} ms`, false);
      }, this.#options.timeout);
    }
  }

  /** The broker answered OK to CONNECTION-OPEN. */
  #opened(): void {
    const first = this.#state === "connecting";
    this.#state = "open";
    this.#openSent = false;
    this.#lastHeard = this.#openedAt = now();
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (first) {
      if (this.#connectTimer !== undefined) clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    } else {
      this.#stats.reopens++;
    }
    // Credit first, so a replayed SERVICE-OFFER finds the window already open.
    this.#credit.sessionOpened();
    const replays = this.#registrations.replayable();
    this.#replaysLeft = replays.length;
    for (const entry of replays) {
      this.#pending.push({ kind: "replay", entry, seq: ++this.#seq });
      this.#writeQuiet(encode(entry.message));
    }
    // After the plain registrations: consumers read on where they stopped (their answers count
    // as replays too), before any held send.
    this.#replaysLeft += this.#consumers.sessionOpened(this.#features.features.includes(FEATURE_REPLAY));
    if (this.#durable.size > 0 && !this.#features.features.includes(FEATURE_STORED)) {
      this.#durable.rejectAll(new MlmError("MLM_UNSUPPORTED", "the broker of the new session cannot confirm storage (no `stored` feature): durable sends not sent"));
    }
    this.#flushHeld();
    this.#startHeartbeat();
    if (first) {
      const waiter = this.#connectWaiter;
      this.#connectWaiter = undefined;
      waiter?.resolve();
    } else if (this.#replaysLeft === 0) {
      this.#events.emit("connected");
    }
  }

  #flushHeld(): void {
    const held = this.#held;
    this.#held = [];
    this.#heldSends = 0;
    const at = now();
    for (const item of held) {
      if (item.kind === "command") {
        if (!item.settled) this.#writeCommand(item);
        continue;
      }
      const durable = item.durable;
      if (durable !== undefined && !this.#durable.waiting(durable)) continue;
      let frames = item.frames;
      const message = item.message;
      if (message.type !== "STREAM_SEND" && message.timeout > 0) {
        const waited = Math.floor(at - item.at);
        if (waited >= message.timeout) {
          this.#stats.expiredSends++;
          if (durable !== undefined) this.#durable.failed(message.tracker, 301, "expired");
          else if (message.tracker !== "") this.#events.emit("confirm", { tracker: message.tracker, code: 301, reason: "expired" });
          continue;
        }
        // The broker counts the timeout from when it receives the message: pass on only what is left.
        if (waited > 0) frames = encode({ ...message, timeout: message.timeout - waited });
      }
      if (durable === undefined) {
        this.#writeQuiet(frames);
        continue;
      }
      // Out of the held list either way: if the connection is lost, #lost holds it again.
      durable.held = false;
      try {
        this.#write(frames);
      } catch (err) {
        if (!(err instanceof MlmError && err.code === "MLM_NOT_CONNECTED")) this.#durable.reject(durable, err as MlmError);
      }
    }
  }

  #startHeartbeat(): void {
    if (this.#options.heartbeat <= 0 || this.#heartbeatTimer !== undefined) return;
    this.#heartbeatTimer = setInterval(() => {
      if (this.#state !== "open") return;
      const at = now();
      if (this.#heard) {
        this.#heard = false;
        this.#lastHeard = at;
      }
      const silent = at - this.#lastHeard;
      if (silent >= this.#options.expiry) {
        this.#lost(`broker silent for ${Math.round(silent)} ms`, false);
        return;
      }
      this.#ping();
    }, this.#options.heartbeat);
  }

  #ping(): void {
    if (this.#writeQuiet(PING_FRAMES)) this.#pingSeqs.push(++this.#seq);
  }

  /**
   * The session is gone. Commands in flight are re-sent after the re-open; the registration
   * set is replayed. `transportDown`: the socket lost its connection and re-opens by itself,
   * so we wait for its "connect"; otherwise we re-open on a fresh connection after backoff.
   */
  #lost(reason: string, transportDown: boolean): void {
    const state = this.#state;
    if (state === "closing" || state === "closed") return;
    // Back off only while sessions keep failing fast: a broker that accepts OPEN and then
    // forgets us at once must not make us spin.
    if (state === "open" && now() - this.#openedAt >= this.#options.expiry) this.#attempt = 0;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    const resend: Command[] = [];
    for (const item of this.#pending.drain()) if (item.kind === "command" && !item.settled) resend.push(item);
    // Durable sends written on the lost session and not answered go again, before later sends.
    const again: HeldSend[] = [];
    for (const waiter of this.#durable.unanswered()) {
      waiter.held = true;
      again.push({ kind: "send", message: waiter.message, frames: encode(waiter.message), at: waiter.at, durable: waiter });
    }
    this.#heldSends += again.length;
    this.#held = [...resend, ...again, ...this.#held];
    this.#consumers.sessionLost();
    this.#pingSeqs.drain();
    this.#openSent = false;
    this.#replaysLeft = 0;
    if (state === "connecting") {
      // connect() is still pending: its own timer bounds the wait.
      if (!transportDown) this.#scheduleReopen();
      return;
    }
    this.#state = "down";
    if (state === "open") this.#events.emit("disconnected", reason);
    if (this.#options.reconnect === false) {
      void this.#shutdown(new MlmError("MLM_NOT_CONNECTED", `session lost and reconnect is off: ${reason}`));
      return;
    }
    if (!transportDown) this.#scheduleReopen();
  }

  #scheduleReopen(): void {
    const reconnect = this.#options.reconnect || DEFAULT_RECONNECT;
    const delay = this.#attempt === 0 ? 0 : Math.min(reconnect.max, reconnect.interval * 2 ** (this.#attempt - 1));
    this.#attempt++;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if ((this.#state === "down" || this.#state === "connecting") && !this.#openSent) this.#freshConnection();
    }, delay);
  }

  // ---------------------------------------------------------------- internals: transport events

  readonly #onTransportConnect = (): void => {
    if (this.#state === "connecting" || this.#state === "down") {
      if (this.#openSent) return;
      if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
      this.#sendOpen();
    }
  };

  readonly #onTransportDisconnect = (_endpoint: string, reason: string): void => {
    this.#lost(`connection lost: ${reason}`, true);
  };

  /** A CURVE server closes without a word on a HELLO it cannot open (RFC 26): a wrong server key. */
  #silentRefusal(error: ZmtpError): boolean {
    return error.code === "ZMTP_HANDSHAKE_CLOSED" && this.#options.curve !== undefined;
  }

  readonly #onTransportError = (error: Error): void => {
    // During connect(), a transport error is a handshake that failed (a wrong CURVE server key,
    // a refused client key or PLAIN credentials, an incompatible peer): the socket does not
    // retry it usefully, so waiting out the connect timeout would only hide why.
    if (this.#connectWaiter !== undefined) {
      const curve = this.#options.curve !== undefined &&
        error instanceof ZmtpError && (error.isProtocolError || this.#silentRefusal(error));
      void this.#failConnect(curve
        ? new MlmError("MLM_REFUSED", `the connection to ${this.#endpoint} failed its CURVE handshake: ${error.message}`, { cause: error })
        : new MlmError("MLM_UNREACHABLE", `the broker at ${this.#endpoint} refused the handshake: ${error.message}`, { cause: error }));
      return;
    }
    this.#events.emit("error", error);
  };

  /** Only while connect() waits: later failed attempts are the reconnect schedule's business. */
  readonly #onAttemptFailed = (_endpoint: string, error: Error): void => {
    if (this.#connectWaiter === undefined) return;
    this.#lastAttemptError = error;
    if (this.#options.waitForBroker) return;
    void this.#failConnect(new MlmError("MLM_UNREACHABLE", `cannot reach the broker at ${this.#endpoint}: ${describeError(error)}`, { cause: error }));
  };

  readonly #onMessage = (frames: Frames): void => {
    if (this.#state === "closed") return;
    this.#heard = true;
    const result = decode(frames);
    if (!result.ok) {
      this.#stats.malformed++;
      this.#events.emit("error", new MlmError("MLM_MALFORMED", `dropped a malformed message from the broker: ${result.error.message}`, { cause: result.error }));
      return;
    }
    const m = result.message;
    switch (m.type) {
      case "STREAM_DELIVER":
        if (this.#consumers.routes(m.address)) this.#deliverConsumed(m.address, m.sender, m.subject, m.content);
        else this.#deliver({ kind: "stream", sender: m.sender, address: m.address, subject: m.subject, tracker: "", content: m.content });
        return;
      case "MAILBOX_DELIVER":
        // An answer to our own READ/CANCEL: the broker sends it outside credit, so it costs none here either.
        if (m.sender === STREAM_SERVICE && this.#consumers.answered(m.tracker, m.content[0])) return;
        this.#deliver({ kind: "mailbox", sender: m.sender, address: m.address, subject: m.subject, tracker: m.tracker, content: m.content });
        return;
      case "SERVICE_DELIVER":
        this.#deliver({ kind: "service", sender: m.sender, address: m.address, subject: m.subject, tracker: m.tracker, content: m.content });
        return;
      case "OK":
        this.#onOk(m.reason);
        return;
      case "ERROR":
        this.#onError(m.code, m.reason);
        return;
      case "CONNECTION_PONG": {
        const seq = this.#pingSeqs.shift();
        if (seq !== undefined && seq > this.#answeredSeq) this.#answeredSeq = seq;
        return;
      }
      case "CONFIRM":
        // "stored" is for the durable send waiting for it, if any; never for `confirm` listeners.
        if (m.code === STORED_CODE) {
          this.#durable.stored(m.tracker);
          return;
        }
        if (
          m.code >= 300 &&
          (this.#durable.failed(m.tracker, m.code, m.reason) || this.#consumers.confirmFailed(m.tracker, m.code, m.reason) ||
            (this.#requests.size > 0 && this.#requests.failed(m.tracker, m.code, m.reason)))
        ) return;
        if (this.#events.listens("confirm")) this.#events.emit("confirm", { tracker: m.tracker, code: m.code, reason: m.reason });
        return;
      default:
        // A client-to-broker message type: not something a broker sends.
        this.#stats.malformed++;
    }
  };

  #deliver(delivery: Delivery): void {
    this.#stats.received++;
    this.#credit.delivered();
    if (this.#routes.active && this.#routes.claim(delivery)) return;
    this.#inbox.push(delivery);
  }

  /** A STREAM-DELIVER to a journal consumer: the sequence frame comes off and into `seq`. */
  #deliverConsumed(stream: string, sender: string, subject: string, content: Uint8Array[]): void {
    const result = this.#consumers.deliver(stream, content);
    if (result.kind !== "deliver") {
      this.#credit.delivered();
      this.#credit.consumed();
      if (result.kind === "duplicate") {
        this.#stats.duplicateDeliveries++;
        return;
      }
      this.#stats.malformed++;
      this.#events.emit("error", new MlmError("MLM_MALFORMED", `dropped a delivery of consumer stream ${JSON.stringify(stream)} without its 8-byte sequence frame`));
      return;
    }
    const delivery: Delivery = { kind: "stream", sender, address: stream, subject, tracker: "", content: result.content, seq: result.seq };
    this.#consumers.track(delivery);
    this.#deliver(delivery);
  }

  #overflow(delivery: Delivery, limit = this.#options.receiveBuffer, where = "receive buffer"): MlmError {
    this.#stats.droppedDeliveries++;
    // Tell the sender through the broker, but only if it supports CONFIRM: C malamute would
    // drop the session for it.
    if (delivery.tracker !== "" && this.#canConfirm && !this.#confirmsRefused && this.#state === "open") {
      this.#writeQuiet(encode({ type: "CONFIRM", tracker: delivery.tracker, code: 300, reason: `${where} full` }));
      this.#lastConfirmSeq = ++this.#seq;
    }
    const error = new MlmError("MLM_BUFFER_FULL", `${where} full (${limit}): dropped a ${delivery.kind} delivery "${delivery.subject}" from "${delivery.sender}"`);
    this.#events.emit("error", error);
    return error;
  }

  // ---------------------------------------------------------------- internals: replies

  #onOk(reason = ""): void {
    const head = this.#pending.shift();
    if (!head) return;
    if (head.seq > this.#answeredSeq) this.#answeredSeq = head.seq;
    switch (head.kind) {
      case "hello":
        this.#learned(parseHelloAnswer(reason));
        return;
      case "open":
        if (this.#state === "connecting" || this.#state === "opening") this.#opened();
        return;
      case "command":
        if (head.entry) this.#registrations.confirm(head.entry);
        if (head.entry?.message.type === "STREAM_WRITE") this.#producerAccepted = true;
        this.#settle(head);
        return;
      case "replay":
        this.#registrations.confirm(head.entry);
        this.#replayAnswered();
        return;
      case "close":
        head.done();
        return;
    }
  }

  #onError(code: number, reason: string): void {
    if (this.#state === "closing") {
      this.#onOk();
      return;
    }
    const head = this.#pending.peek();
    if (head?.kind === "hello") {
      // C malamute: ERROR 500 to a command before OPEN; the connection stays usable.
      this.#pending.shift();
      if (head.seq > this.#answeredSeq) this.#answeredSeq = head.seq;
      this.#learned(CLASSIC_BROKER);
      return;
    }
    if (code === 500) {
      if (reason === ADDRESS_TAKEN) {
        this.#displaced();
        return;
      }
      // "I don't know you": the broker restarted or expired us. While our OPEN is outstanding
      // this answers something older (a stale PING), so wait for the OPEN's own answer.
      if (head?.kind === "open") return;
      if (this.#state === "open") this.#lost(`broker does not know this session (ERROR 500${reason ? ` ${reason}` : ""})`, false);
      return;
    }
    // Requests are answered in order, so an ERROR 300 with an unanswered CONFIRM written before
    // the next expected request is that CONFIRM's answer, unless a STREAM-SEND without an
    // accepted producer was written in between (C answers that with ERROR 300 too).
    const sendBlamed = this.#lastRiskySendSeq > this.#answeredSeq && this.#lastRiskySendSeq < this.#lastConfirmSeq;
    const confirmRefused = !sendBlamed && this.#lastConfirmSeq > this.#answeredSeq &&
      (head === undefined || head.kind === "open" || this.#lastConfirmSeq < head.seq);
    if (confirmRefused) {
      this.#answeredSeq = this.#lastConfirmSeq;
      this.#confirmsRefused = true;
      this.#events.emit(
        "error",
        new MlmError("MLM_FAILED", `broker answered CONFIRM with ERROR ${code}${reason ? ` (${reason})` : ""}: it does not implement confirmations (C malamute); this client sends no more CONFIRMs`, { status: code }),
      );
    } else if (head !== undefined && head.kind !== "open") {
      this.#pending.shift();
      if (head.seq > this.#answeredSeq) this.#answeredSeq = head.seq;
      if (head.kind === "command") {
        if (head.entry) this.#registrations.refuse(head.entry);
        this.#settle(head, statusError(code, reason, head.what));
      } else if (head.kind === "replay") {
        this.#registrations.forget(head.entry);
        this.#events.emit("error", statusError(code, reason, `replaying ${head.entry.message.type}`));
        this.#replayAnswered();
      } else {
        head.done();
      }
    } else {
      this.#events.emit("error", statusError(code, reason, "unsolicited"));
    }
    // C malamute forgets a client after any ERROR 300: a PING tells (ERROR 500 → re-open).
    if (this.#state === "open") this.#ping();
  }

  /**
   * A newer connection opened a session with our address. Re-opening would take it back and
   * the two clients would alternate forever, each getting part of the mail: stop instead.
   */
  #displaced(): void {
    const error = new MlmError(
      "MLM_ADDRESS_TAKEN",
      `another client opened a session with the address ${JSON.stringify(this.address)}: this client is closed and does not take it back (give each client its own address)`,
      { status: 500 },
    );
    if (this.#state === "open") this.#events.emit("disconnected", error.message);
    this.#events.emit("error", error);
    void this.#shutdown(error);
  }

  #learned(features: BrokerFeatures): void {
    this.#features = features;
    this.#canConfirm = features.features.includes("confirm");
  }

  #replayAnswered(): void {
    if (--this.#replaysLeft === 0 && this.#state === "open") this.#events.emit("connected");
  }

  // ---------------------------------------------------------------- internals: writing

  #command(message: RegistrationMessage | MlmMessage, what: string, register: boolean): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") {
      return Promise.reject(new MlmError("MLM_CLOSED", `${what}: the client is closed`));
    }
    let frames: Frames;
    try {
      frames = encodeOrThrow(message);
    } catch (err) {
      return Promise.reject(err);
    }
    const entry = register ? this.#registrations.request(message as RegistrationMessage) : undefined;
    if (message.type === "STREAM_WRITE") this.#producerRequested = true;
    // Cancelled at once, so a replay can never resurrect it, whatever the broker answers.
    if (message.type === "STREAM_CANCEL") this.#registrations.cancelStream(message.stream);
    return new Promise<void>((resolve, reject) => {
      const command: Command = { kind: "command", frames, what, entry, resolve, reject, timer: undefined, settled: false, seq: 0 };
      command.timer = setTimeout(() => {
        command.timer = undefined;
        const held = this.#held.indexOf(command);
        if (held >= 0) {
          this.#held.splice(held, 1);
          if (entry) this.#registrations.refuse(entry);
        }
        this.#settle(command, new MlmError("MLM_TIMEOUT", `${what}: no answer from the broker within ${this.#options.timeout} ms`));
      }, this.#options.timeout);
      if (this.#state === "open") this.#writeCommand(command);
      else this.#held.push(command);
    });
  }

  #writeCommand(command: Command): void {
    command.seq = ++this.#seq;
    try {
      this.#write(command.frames);
    } catch (err) {
      this.#settle(command, err instanceof MlmError ? err : new MlmError("MLM_NOT_CONNECTED", asError(err).message, { cause: err }));
      return;
    }
    this.#pending.push(command);
  }

  #settle(command: Command, error?: MlmError): void {
    if (command.settled) return;
    command.settled = true;
    if (command.timer !== undefined) clearTimeout(command.timer);
    command.timer = undefined;
    if (error) command.reject(error);
    else command.resolve();
  }

  #post(message: Outgoing): void {
    this.#assertOpenForUse();
    const frames = encodeOrThrow(message);
    if (this.#state === "open") {
      this.#write(frames);
      return;
    }
    if (this.#heldSends >= this.#options.sendBuffer) {
      throw new MlmError("MLM_NOT_CONNECTED", `the session is down and ${this.#options.sendBuffer} sends already wait for it`);
    }
    this.#held.push({ kind: "send", message, frames, at: now() });
    this.#heldSends++;
  }

  #assertOpenForUse(): void {
    if (this.#state === "closing" || this.#state === "closed") throw new MlmError("MLM_CLOSED", "the client is closed");
  }

  /** Write for the application: failures are thrown as MlmError. */
  #write(frames: Frames): void {
    try {
      this.#dealer.send(frames);
    } catch (err) {
      if (err instanceof TransportError && err.code === "MESSAGE_TOO_LARGE") {
        throw new MlmError("MLM_BAD_ARGUMENT", err.message, { cause: err });
      }
      if (err instanceof TransportError && err.code === "SEND_QUEUE_FULL") {
        throw new MlmError("MLM_SEND_QUEUE_FULL", `cannot send now: ${err.message}`, { cause: err });
      }
      throw new MlmError("MLM_NOT_CONNECTED", `cannot send: ${asError(err).message}`, { cause: err });
    }
  }

  /** Write for the client itself (PING, OPEN, CREDIT, replay): failures become "error" events. */
  #writeQuiet(frames: Frames): boolean {
    try {
      this.#dealer.send(frames);
      return true;
    } catch (err) {
      this.#events.emit("error", asError(err));
      return false;
    }
  }
}

function encodeOrThrow(message: MlmMessage): Frames {
  try {
    return encode(message);
  } catch (err) {
    throw new MlmError("MLM_BAD_ARGUMENT", asError(err).message, { cause: err });
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * The error for a pattern the broker could never match as meant (`((`): refused before it is
 * sent, since a C broker accepts it silently and the subscription would just never deliver.
 */
function invalidPattern(what: string, pattern: string): MlmError | undefined {
  if (typeof pattern !== "string") return undefined; // the codec reports a non-string
  const compiled = compilePattern(pattern);
  return compiled.valid ? undefined : badArgument(`${what}: invalid pattern ${JSON.stringify(pattern)}: ${compiled.error}`);
}
