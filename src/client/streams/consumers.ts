import { MlmError } from "../errors.ts";
import { ackRequest, cancelRequest, parseAnswer, readRequest, readSeq } from "./stream-service.ts";
import type { WireFrom } from "./stream-service.ts";
import type { ConsumerPosition, Delivery } from "../types.ts";

/** Acknowledge at most this often (ms) while deliveries keep being handed over... */
export const ACK_INTERVAL_MS = 100;
/** ...or at once after this many of them. */
export const ACK_BATCH = 256;

/** What the consumer table needs from its client. */
export interface ConsumerHost {
  /** True while the session is open. */
  readonly open: boolean;
  /** Write a SERVICE-SEND to `malamute.stream` now; false if it could not be written. */
  send(subject: "READ" | "ACK" | "CANCEL", tracker: string, content: Uint8Array): boolean;
  /** Milliseconds an application command waits for its answer. */
  readonly timeout: number;
  /** Report what no caller waits for (a re-read refused after a re-open...). */
  error(error: MlmError): void;
  /** A READ re-issued after a re-open was answered (or refused). */
  replayAnswered(): void;
}

interface UserWait<T> {
  resolve: (value: T) => void;
  reject: (error: MlmError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** One consumer (one READ) of one stream. */
class Consumer {
  /** 0 until the broker answered a READ. */
  next = 0;
  head = 0;
  /** Sequence number of the last delivery received (0: none). */
  lastSeen = 0;
  /** Highest sequence number the application is done with, and the highest sent in an ACK. */
  ackTo = 0;
  acked = 0;
  unflushed = 0;
  ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Ended (cancelled, replaced, refused): no more ACKs, no re-read. */
  ended = false;
  /** The application's setConsumer() call, until the first answer. */
  wait: UserWait<ConsumerPosition> | undefined;

  constructor(
    readonly stream: string,
    readonly pattern: string,
    readonly from: WireFrom,
    readonly name: string | undefined,
    readonly autoAck: boolean,
  ) {}

  /** Where a READ of this consumer starts: no gap and no duplicate after a re-open. */
  resumeFrom(): WireFrom {
    if (this.name !== undefined) {
      // The broker resumes after its stored position if it has one and ignores `from`; without
      // one, everything not acknowledged comes again (at least once).
      if (this.acked > 0) return { seq: this.acked + 1 };
      return this.next > 0 ? { seq: this.next } : this.from;
    }
    if (this.lastSeen > 0) return { seq: this.lastSeen + 1 };
    return this.next > 0 ? { seq: this.next } : this.from;
  }
}

type Answer =
  | { kind: "read"; consumer: Consumer; replay: boolean }
  | { kind: "cancel"; consumer: Consumer; wait: UserWait<void> | undefined };

/** What became of a STREAM-DELIVER on a stream with a consumer. */
export type ConsumerDelivery =
  | { kind: "deliver"; seq: number; content: Uint8Array[] }
  | { kind: "duplicate" }
  | { kind: "malformed" };

/**
 * The journal consumers of one client (docs/mlm-extensions.md §4): their READs, the answers,
 * the sequence frame of their deliveries, batched ACKs of durable consumers, and the READ that
 * resumes each one after a re-open.
 *
 * Per stream, `current` is the consumer the application set; `route` is the one whose
 * deliveries arrive now. They differ while a replacing READ or a CANCEL is in flight: the
 * broker handles commands in order, so until it answers, deliveries still belong to the old one.
 */
export class Consumers {
  readonly #host: ConsumerHost;
  readonly limit: number;
  readonly #current = new Map<string, Consumer>();
  readonly #route = new Map<string, Consumer>();
  readonly #answers = new Map<string, Answer>();
  /** Which consumer a delivery came from, for acknowledging it (durable consumers only). */
  readonly #origin = new WeakMap<Delivery, Consumer>();
  #trackers = 0;
  readonly #prefix = `mlm-stream-${Math.random().toString(36).slice(2, 10)}-`;

  constructor(host: ConsumerHost, limit: number) {
    this.#host = host;
    this.limit = limit;
  }

  get size(): number {
    return this.#current.size;
  }

  /** True when the application holds a consumer of `stream` (replacing it adds none). */
  has(stream: string): boolean {
    return this.#current.has(stream);
  }

  /** True when deliveries of `stream` carry a sequence frame (a consumer holds it or is ending). */
  routes(stream: string): boolean {
    return this.#current.has(stream) || this.#route.has(stream);
  }

  /** Start (or replace) the consumer of `stream`; resolves with the broker's answer. */
  start(stream: string, pattern: string, from: WireFrom, name: string | undefined, autoAck: boolean): Promise<ConsumerPosition> {
    const previous = this.#current.get(stream);
    if (previous !== undefined) this.#end(previous, "replaced by a later setConsumer() on the same stream");
    const consumer = new Consumer(stream, pattern, from, name, autoAck);
    this.#current.set(stream, consumer);
    if (!this.#route.has(stream)) this.#route.set(stream, consumer);
    return new Promise<ConsumerPosition>((resolve, reject) => {
      const wait: UserWait<ConsumerPosition> = { resolve, reject, timer: undefined };
      consumer.wait = wait;
      wait.timer = setTimeout(() => this.#readTimedOut(consumer), this.#host.timeout);
      if (this.#host.open) this.#read(consumer, false);
    });
  }

  /** CANCEL the consumer of `stream` (its acknowledgements are flushed first). */
  cancel(stream: string): Promise<void> {
    const consumer = this.#current.get(stream);
    if (consumer === undefined) return Promise.resolve();
    this.#end(consumer, "cancelled by cancelConsumer()");
    if (!this.#host.open) {
      this.#unroute(stream);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const wait: UserWait<void> = { resolve, reject, timer: undefined };
      const tracker = this.#cancelOnBroker(consumer, wait);
      wait.timer = setTimeout(() => {
        this.#answers.delete(tracker);
        this.#unroute(stream);
        reject(new MlmError("MLM_TIMEOUT", `cancelConsumer(${JSON.stringify(stream)}): no answer within ${this.#host.timeout} ms`));
      }, this.#host.timeout);
    });
  }

  /** STREAM-CANCEL of `stream` is being sent: it ends the consumer too. */
  detach(stream: string): void {
    const consumer = this.#current.get(stream);
    if (consumer !== undefined) this.#end(consumer, "cancelled by removeConsumer()");
  }

  /** The STREAM-CANCEL was answered: no more deliveries of the ended consumer will come. */
  detached(stream: string): void {
    this.#unroute(stream);
  }

  /**
   * A MAILBOX-DELIVER from `malamute.stream`: true if it answers one of our READ/CANCEL
   * commands (then it is consumed here), false if the application should get it.
   */
  answered(tracker: string, frame: Uint8Array | undefined): boolean {
    const answer = this.#answers.get(tracker);
    if (answer === undefined) return false;
    this.#answers.delete(tracker);
    const parsed = parseAnswer(frame);
    if (answer.kind === "cancel") {
      this.#unroute(answer.consumer.stream);
      this.#settleCancel(answer.wait, parsed.ok ? undefined : refused(answer.consumer.stream, "CANCEL", parsed.code, parsed.error));
      return true;
    }
    if (parsed.ok) this.#readAnswered(answer.consumer, answer.replay, parsed.next, parsed.head);
    else this.#readRefused(answer.consumer, answer.replay, refused(answer.consumer.stream, "READ", parsed.code, parsed.error));
    return true;
  }

  /** A failure CONFIRM: true if it refuses one of our commands. */
  confirmFailed(tracker: string, code: number, reason: string): boolean {
    const answer = this.#answers.get(tracker);
    if (answer === undefined) return false;
    this.#answers.delete(tracker);
    const stream = answer.consumer.stream;
    const error = new MlmError("MLM_CONSUMER_REFUSED", `malamute.stream refused ${answer.kind.toUpperCase()} of ${JSON.stringify(stream)}: CONFIRM ${code}${reason ? ` ${reason}` : ""}`, { status: code });
    if (answer.kind === "cancel") {
      this.#unroute(stream);
      this.#settleCancel(answer.wait, error);
    } else {
      this.#readRefused(answer.consumer, answer.replay, error);
    }
    return true;
  }

  /** A STREAM-DELIVER of a stream that `routes()`: strip and check its sequence frame. */
  deliver(stream: string, content: Uint8Array[]): ConsumerDelivery {
    const consumer = this.#route.get(stream) ?? (this.#current.get(stream) as Consumer);
    const seq = readSeq(content[0]);
    if (seq === undefined) return { kind: "malformed" };
    if (seq <= consumer.lastSeen) return { kind: "duplicate" };
    consumer.lastSeen = seq;
    return { kind: "deliver", seq, content: content.slice(1) };
  }

  /** Remember where a delivery came from (durable consumers), for ack() and auto-ack. */
  track(delivery: Delivery): void {
    const consumer = this.#route.get(delivery.address);
    if (consumer?.name !== undefined) this.#origin.set(delivery, consumer);
  }

  /** A delivery was handed to the application: auto-ack it if its consumer wants that. */
  handed(delivery: Delivery): void {
    const consumer = this.#origin.get(delivery);
    if (consumer !== undefined && consumer.autoAck) this.#ack(consumer, delivery.seq as number);
  }

  /** client.ack(delivery): false if it is not from a durable consumer still running. */
  ack(delivery: Delivery): boolean {
    const consumer = this.#origin.get(delivery);
    if (consumer === undefined || consumer.ended) return false;
    this.#ack(consumer, delivery.seq as number);
    return true;
  }

  /** The session was lost: answers in flight will never come; the broker forgot our consumers. */
  sessionLost(): void {
    for (const answer of this.#answers.values()) {
      if (answer.kind === "cancel") this.#settleCancel(answer.wait, undefined);
    }
    this.#answers.clear();
    this.#route.clear();
    for (const [stream, consumer] of this.#current) {
      this.#route.set(stream, consumer);
      clearTimer(consumer);
    }
  }

  /**
   * A session opened: READ every consumer again where it left off. Returns how many of those
   * READs are re-reads (whose answers the client counts before it says "connected").
   */
  sessionOpened(canReplay: boolean): number {
    if (!canReplay) {
      const error = new MlmError("MLM_UNSUPPORTED", "the broker has no stream journal (no `replay` feature): consumers ended");
      for (const consumer of [...this.#current.values()]) {
        const wait = consumer.wait;
        this.#end(consumer, error.message, error);
        this.#unroute(consumer.stream);
        if (wait === undefined) this.#host.error(error);
      }
      return 0;
    }
    let replays = 0;
    for (const consumer of this.#current.values()) {
      const replay = consumer.wait === undefined;
      if (replay) replays++;
      this.#read(consumer, replay);
    }
    return replays;
  }

  /** Closing: send the ACKs still due while the session is up. */
  flushAll(): void {
    for (const consumer of this.#current.values()) this.#flush(consumer);
  }

  /** The client is closed: stop timers, reject waiting calls. */
  release(error: MlmError): void {
    for (const consumer of this.#current.values()) {
      clearTimer(consumer);
      consumer.ended = true;
      this.#rejectRead(consumer, error);
    }
    for (const answer of this.#answers.values()) if (answer.kind === "cancel") this.#settleCancel(answer.wait, error);
    this.#answers.clear();
    this.#current.clear();
    this.#route.clear();
  }

  // ---------------------------------------------------------------- internals

  #read(consumer: Consumer, replay: boolean): void {
    const tracker = this.#tracker();
    this.#answers.set(tracker, { kind: "read", consumer, replay });
    const content = readRequest(consumer.stream, consumer.pattern, consumer.resumeFrom(), consumer.name);
    if (!this.#host.send("READ", tracker, content)) this.#answers.delete(tracker);
  }

  #readAnswered(consumer: Consumer, replay: boolean, next: number, head: number): void {
    if (replay) this.#host.replayAnswered();
    if (consumer.ended) return;
    consumer.next = next;
    consumer.head = head;
    this.#route.set(consumer.stream, consumer);
    const wait = consumer.wait;
    consumer.wait = undefined;
    if (wait !== undefined) {
      if (wait.timer !== undefined) clearTimeout(wait.timer);
      wait.resolve({ next, head });
    }
    // Acknowledgements held while the session was down go now that the name is ours again.
    if (consumer.ackTo > consumer.acked) this.#flush(consumer);
  }

  #readRefused(consumer: Consumer, replay: boolean, error: MlmError): void {
    if (replay) this.#host.replayAnswered();
    if (consumer.ended) return;
    const wait = consumer.wait;
    this.#end(consumer, error.message, error);
    this.#unroute(consumer.stream);
    if (wait === undefined) this.#host.error(error);
  }

  #readTimedOut(consumer: Consumer): void {
    const wait = consumer.wait;
    if (wait === undefined) return;
    wait.timer = undefined;
    const error = new MlmError("MLM_TIMEOUT", `setConsumer(${JSON.stringify(consumer.stream)}): no answer from malamute.stream within ${this.#host.timeout} ms`);
    this.#end(consumer, error.message, error);
    // The READ may still take effect at the broker: end it there too.
    if (this.#host.open) this.#cancelOnBroker(consumer, undefined);
    else this.#unroute(consumer.stream);
  }

  /** Stop a consumer on our side: flush its ACKs, reject its pending setConsumer(). */
  #end(consumer: Consumer, why: string, error?: MlmError): void {
    this.#flush(consumer);
    clearTimer(consumer);
    consumer.ended = true;
    if (this.#current.get(consumer.stream) === consumer) this.#current.delete(consumer.stream);
    this.#rejectRead(consumer, error ?? new MlmError("MLM_FAILED", `setConsumer(${JSON.stringify(consumer.stream)}): ${why}`));
  }

  #rejectRead(consumer: Consumer, error: MlmError): void {
    const wait = consumer.wait;
    consumer.wait = undefined;
    if (wait === undefined) return;
    if (wait.timer !== undefined) clearTimeout(wait.timer);
    wait.reject(error);
  }

  #cancelOnBroker(consumer: Consumer, wait: UserWait<void> | undefined): string {
    const tracker = this.#tracker();
    this.#answers.set(tracker, { kind: "cancel", consumer, wait });
    if (!this.#host.send("CANCEL", tracker, cancelRequest(consumer.stream))) {
      this.#answers.delete(tracker);
      this.#unroute(consumer.stream);
      this.#settleCancel(wait, undefined);
    }
    return tracker;
  }

  #settleCancel(wait: UserWait<void> | undefined, error: MlmError | undefined): void {
    if (wait === undefined) return;
    if (wait.timer !== undefined) clearTimeout(wait.timer);
    wait.timer = undefined;
    if (error) wait.reject(error);
    else wait.resolve();
  }

  /** Deliveries of `stream` no longer carry a sequence frame, unless a new consumer holds it. */
  #unroute(stream: string): void {
    const current = this.#current.get(stream);
    if (current === undefined) this.#route.delete(stream);
    else this.#route.set(stream, current);
  }

  #ack(consumer: Consumer, seq: number): void {
    if (consumer.ended || seq <= consumer.ackTo) return;
    consumer.ackTo = seq;
    if (++consumer.unflushed >= ACK_BATCH) this.#flush(consumer);
    else consumer.ackTimer ??= setTimeout(() => {
      consumer.ackTimer = undefined;
      this.#flush(consumer);
    }, ACK_INTERVAL_MS);
  }

  #flush(consumer: Consumer): void {
    clearTimer(consumer);
    if (consumer.name === undefined || consumer.ended || consumer.ackTo <= consumer.acked || !this.#host.open) return;
    if (this.#host.send("ACK", "", ackRequest(consumer.stream, consumer.name, consumer.ackTo))) {
      consumer.acked = consumer.ackTo;
      consumer.unflushed = 0;
    }
  }

  #tracker(): string {
    return `${this.#prefix}${++this.#trackers}`;
  }
}

function clearTimer(consumer: Consumer): void {
  if (consumer.ackTimer !== undefined) clearTimeout(consumer.ackTimer);
  consumer.ackTimer = undefined;
}

function refused(stream: string, command: string, code: string, error: string): MlmError {
  return new MlmError("MLM_CONSUMER_REFUSED", `malamute.stream refused ${command} of ${JSON.stringify(stream)}: ${code}: ${error}`, { brokerCode: code });
}
