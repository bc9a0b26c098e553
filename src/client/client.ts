// The public face of the client: argument checks and delegation only. The work is done by plain
// functions over one shared ClientCore (session/core.ts): the session in session/, writing in
// send/, what the broker sends in receive/, journal consumers in streams/.
import { zmtp } from "../transport/zmtp.ts";
import { badArgument, invalidPattern, toFrames } from "./content.ts";
import { MlmError } from "./errors.ts";
import type { MlmClientEvents } from "./events.ts";
import type { BrokerFeatures } from "./features.ts";
import { Message } from "./message.ts";
import { resolveOptions } from "./options.ts";
import type { RequestOptions } from "./receive/request.ts";
import type { RouteOptions, Subscription } from "./receive/routes.ts";
import { serviceMatcher, streamMatcher, subscribe } from "./receive/subscribe.ts";
import { assertOpenForUse, command, encodeOrThrow, post, sendAddressed, withdrawRequest, write } from "./send/outbox.ts";
import type { WhenReadyOptions } from "./send/when-ready.ts";
import { ClientCore } from "./session/core.ts";
import { closeNow, start } from "./session/lifecycle.ts";
import { startConsumer } from "./streams/start-consumer.ts";
import type {
  ClientStats, ConsumerOptions, ConsumerPosition, ContentInput, Delivery, DurableSendOptions, MlmClientOptions, SendOptions,
} from "./types.ts";

export type { MlmClientEvents } from "./events.ts";

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
  /** Everything the parts of the client share (session/core.ts). */
  readonly #core: ClientCore;

  private constructor(core: ClientCore) {
    this.#core = core;
    this.address = core.address;
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
    const core = new ClientCore(endpoint, resolved, options.transport ?? zmtp);
    await start(core);
    return new MlmClient(core);
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
    return this.#core.state === "open";
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
    return this.#core.features;
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
    const core = this.#core;
    return {
      ...core.stats, buffered: core.inbox.buffered, pendingSends: core.heldSends, pendingDurable: core.durable.size,
      consumers: core.consumers.size,
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
    return command(this.#core, { type: "STREAM_WRITE", stream }, `setProducer(${JSON.stringify(stream)})`, true);
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
      if (this.#core.consumers.routes(stream)) {
        return Promise.reject(badArgument(`${what}: the stream has a consumer on this client; cancel it before a plain subscription`));
      }
      const invalid = invalidPattern(what, pattern);
      if (invalid !== undefined) return Promise.reject(invalid);
      return command(this.#core, { type: "STREAM_READ", stream, pattern }, what, true);
    }
    return startConsumer(this.#core, stream, pattern, options, what);
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
      assertOpenForUse(this.#core);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#core.consumers.cancel(stream);
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
    return this.#core.consumers.ack(Message.origin(delivery));
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
    const consumers = this.#core.consumers;
    consumers.detach(stream);
    const done = command(this.#core, { type: "STREAM_CANCEL", stream }, `removeConsumer(${JSON.stringify(stream)})`, false);
    const detached = () => consumers.detached(stream);
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
    return command(this.#core, { type: "SERVICE_OFFER", address: service, pattern }, what, true);
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
    const core = this.#core;
    if (!core.producerRequested && core.state !== "closed" && core.state !== "closing") {
      throw badArgument("send() publishes to the producer stream: call setProducer() first");
    }
    post(core, { type: "STREAM_SEND", subject, content: toFrames(content) });
    if (!core.producerAccepted) core.lastRiskySendSeq = ++core.seq;
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
    return sendAddressed(this.#core, "MAILBOX_SEND", address, subject, content, options);
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
    return sendAddressed(this.#core, "SERVICE_SEND", service, subject, content, options);
  }

  // ---------------------------------------------------------------- awaitable sends (send/when-ready.ts)

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
    return this.#core.waiting.send(() => this.send(subject, content), `sendWhenReady(${JSON.stringify(subject)})`, options);
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
    return this.#core.waiting.send(() => this.sendTo(address, subject, content, send), `sendToWhenReady(${JSON.stringify(address)})`, options);
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
    return this.#core.waiting.send(() => this.sendFor(service, subject, content, send), `sendForWhenReady(${JSON.stringify(service)})`, options);
  }

  // ---------------------------------------------------------------- request / reply (receive/request.ts)

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
    const timeout = options.timeout ?? this.#core.options.timeout;
    if (!Number.isInteger(timeout) || timeout < 1) return Promise.reject(badArgument(`${what}: timeout must be a positive integer, got ${String(timeout)}`));
    const { routes, requests } = this.#core;
    if (!routes.has(requests)) routes.add(requests);
    return requests.start(
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

  // ---------------------------------------------------------------- per-subscription iterators (receive/routes.ts, receive/subscribe.ts)

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
    const match = streamMatcher(stream, pattern);
    const invalid = invalidPattern(`consume(${JSON.stringify(stream)})`, pattern);
    if (invalid) throw invalid;
    const { limit, onFull, ...consumer } = options;
    const journal = consumer.from !== undefined || consumer.durable !== undefined || consumer.autoAck !== undefined;
    const key = `stream:${stream}`;
    const core = this.#core;
    return subscribe(core, key, match, { limit, onFull },
      journal ? () => this.setConsumer(stream, pattern, consumer).then(() => {}) : () => this.setConsumer(stream, pattern),
      () => (core.routes.some((s) => s.key === key) || core.state === "closed" ? Promise.resolve() : this.removeConsumer(stream)));
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
    return subscribe(this.#core, "mailbox", (d) => d.kind === "mailbox", options, () => Promise.resolve(), () => Promise.resolve());
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
    const match = serviceMatcher(service, pattern);
    const invalid = invalidPattern(`requests(${JSON.stringify(service)})`, pattern);
    if (invalid) throw invalid;
    return subscribe(this.#core, `service:${service}`, match, options, () => this.setWorker(service, pattern), () => Promise.resolve());
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
    return this.#core.inbox.receive(options?.signal);
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
        this.#core.inbox.receive().then(
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
    return this.#core.inbox.onDelivery(handler);
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
    const core = this.#core;
    assertOpenForUse(core);
    if (tracker === "") return;
    const frames = encodeOrThrow({ type: "CONFIRM", tracker, code: status?.code ?? 200, reason: status?.reason ?? "" });
    if (!core.canConfirm || core.confirmsRefused || core.state !== "open") {
      core.stats.skippedConfirms++;
      return;
    }
    write(core, frames);
    core.lastConfirmSeq = ++core.seq;
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
    return withdrawRequest(this.#core, tracker);
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
    const core = this.#core;
    if (!core.credit.enabled) throw badArgument("credit is disabled for this client (credit: false)");
    assertOpenForUse(core);
    core.credit.add(amount);
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
    this.#core.events.on(event, handler);
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
    this.#core.events.off(event, handler);
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
    const core = this.#core;
    core.closing ??= closeNow(core);
    return core.closing;
  }
}
