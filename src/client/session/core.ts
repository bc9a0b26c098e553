/**
 * The state of one MlmClient, shared by its parts: the session (open, heartbeats, re-open),
 * the send queue (send/outbox.ts), the dispatch of what the broker sends (receive/dispatch.ts)
 * and the answers to our requests (session/answers.ts). One object with plain fields, and the
 * parts are plain functions over it, so splitting the client costs no message a closure, a
 * wrapper or a lookup.
 */
import { encode } from "../../proto/mod.ts";
import type { MailboxSend, ServiceSend, StreamSend } from "../../proto/mod.ts";
import type { DealerSocket, Frames, Transport } from "../../transport/types.ts";
import { Emitter } from "../../util/emitter.ts";
import { asError, type MlmError } from "../errors.ts";
import type { MlmClientEvents } from "../events.ts";
import { type BrokerFeatures, CLASSIC_BROKER, helloFrames, NO_MAILBOX_CONFIRMS, STORED_CONFIRMS } from "../features.ts";
import type { ResolvedOptions } from "../options.ts";
import { Fifo } from "../queue.ts";
import { CreditWindow } from "../receive/credit.ts";
import { messageHandler, overflow } from "../receive/dispatch.ts";
import { Inbox } from "../receive/inbox.ts";
import { Requests } from "../receive/request.ts";
import { Routes } from "../receive/routes.ts";
import { DurableSends } from "../send/durable.ts";
import type { DurableWaiter } from "../send/durable.ts";
import { encodeOrThrow, writeQuiet } from "../send/outbox.ts";
import { WaitingSends } from "../send/when-ready.ts";
import { Consumers } from "../streams/consumers.ts";
import { STREAM_SERVICE } from "../streams/stream-service.ts";
import { replayAnswered } from "./answers.ts";
import { attemptFailed, transportConnected, transportError } from "./lifecycle.ts";
import { lost, newDealer } from "./reconnect.ts";
import { Registrations } from "./registrations.ts";
import type { Registration } from "./registrations.ts";

/**
 * Where the session is:
 * - connecting: first CONNECTION-OPEN not answered yet (connect() pending);
 * - open: OK received; everything is written straight to the socket;
 * - opening: a re-open's CONNECTION-OPEN is waiting for OK;
 * - down: no session; waiting for the transport or for the backoff timer;
 * - closing / closed: close() was called (or reconnect is off and the session died).
 */
export type State = "connecting" | "open" | "opening" | "down" | "closing" | "closed";

/** A role command (OK/ERROR expected) issued by the application. */
export interface Command {
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
export type Expectation =
  | Command
  | { readonly kind: "hello"; readonly seq: number }
  | { readonly kind: "open"; readonly seq: number }
  | { readonly kind: "replay"; readonly entry: Registration; readonly seq: number }
  | { readonly kind: "close"; readonly seq: number; readonly done: () => void };

export type Outgoing = StreamSend | MailboxSend | ServiceSend;

/** A send made while the session was down, written after the next re-open. */
export interface HeldSend {
  readonly kind: "send";
  readonly message: Outgoing;
  readonly frames: Frames;
  readonly at: number;
  /** Set for a durable send: it is written only while its waiter still waits. */
  readonly durable?: DurableWaiter;
}

export const now = (): number => performance.now();

export class ClientCore {
  readonly address: string;
  readonly endpoint: string;
  readonly options: ResolvedOptions;
  readonly openFrames: Frames;
  readonly helloFrames: Frames;
  readonly transport: Transport;
  dealer: DealerSocket;
  /** Closing of connections given up for a fresh one (awaited by close(), so nothing leaks). */
  readonly retired = new Set<Promise<void>>();
  features: BrokerFeatures = CLASSIC_BROKER;
  /** The last failed connection attempt while connect() waits, named by its timeout error. */
  lastAttemptError: Error | undefined;
  canConfirm = false;
  readonly events = new Emitter<MlmClientEvents>();
  readonly inbox: Inbox;
  readonly credit: CreditWindow;
  readonly registrations = new Registrations();
  readonly pending = new Fifo<Expectation>();
  readonly pingSeqs = new Fifo<number>();
  held: Array<Command | HeldSend> = [];
  heldSends = 0;
  state: State = "connecting";
  openSent = false;
  attempt = 0;
  replaysLeft = 0;
  // Sequence numbers of written requests, to tell which request an ERROR answers.
  seq = 0;
  answeredSeq = 0;
  lastConfirmSeq = 0;
  // A STREAM-SEND before any producer was accepted may earn an ERROR 300 too (no writer).
  lastRiskySendSeq = 0;
  producerAccepted = false;
  confirmsRefused = false;
  producerRequested = false;
  lastHeard = 0;
  /**
   * Whether anything arrived since the last heartbeat tick, which then moves lastHeard: a
   * clock read per message costs more than the rest of handling a small one. Silence is thus
   * noticed up to one heartbeat late, never early.
   */
  heard = false;
  openedAt = 0;
  heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  connectTimer: ReturnType<typeof setTimeout> | undefined;
  connectWaiter: { resolve: () => void; reject: (error: MlmError) => void } | undefined;
  closing: Promise<void> | undefined;
  shutdownDone: Promise<void> = Promise.resolve();
  readonly durable: DurableSends;
  readonly consumers: Consumers;
  readonly routes: Routes;
  readonly requests: Requests;
  readonly waiting: WaitingSends;
  readonly stats = {
    received: 0, droppedDeliveries: 0, expiredSends: 0, skippedConfirms: 0, malformed: 0, reopens: 0, limitRefusals: 0,
    duplicateDeliveries: 0,
  };
  // The socket's listeners, made once per client (not per message) and kept to detach them.
  readonly onMessage: (frames: Frames) => void;
  readonly onTransportConnect = (): void => transportConnected(this);
  readonly onTransportDisconnect = (_endpoint: string, reason: string): void => lost(this, `connection lost: ${reason}`, true);
  readonly onAttemptFailed = (_endpoint: string, error: Error): void => attemptFailed(this, error);
  readonly onTransportError = (error: Error): void => transportError(this, error);

  constructor(endpoint: string, options: ResolvedOptions, transport: Transport) {
    // deno-lint-ignore no-this-alias
    const core = this;
    this.endpoint = endpoint;
    this.options = options;
    this.address = options.address;
    this.openFrames = encodeOrThrow({ type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: options.address });
    this.helloFrames = helloFrames((options.noMailboxConfirms ? NO_MAILBOX_CONFIRMS : 0) | (options.storedConfirms ? STORED_CONFIRMS : 0));
    this.durable = new DurableSends(options.maxDurableSends);
    this.consumers = new Consumers({
      get open() {
        return core.state === "open";
      },
      timeout: options.timeout,
      send: (subject, tracker, content) =>
        this.state === "open" &&
        writeQuiet(this, encode({ type: "SERVICE_SEND", address: STREAM_SERVICE, subject, tracker, timeout: 0, content: [content] })),
      error: (error) => this.events.emit("error", error),
      replayAnswered: () => replayAnswered(this),
    }, options.maxConsumers);
    this.transport = transport;
    this.credit = new CreditWindow(options.credit, options.manualCredit, (amount) => {
      if (this.state === "open") writeQuiet(this, encode({ type: "CREDIT", amount }));
    });
    this.inbox = new Inbox(options.receiveBuffer, {
      consumed: (delivery, handed) => {
        this.credit.consumed();
        if (handed && delivery.seq !== undefined) this.consumers.handed(delivery);
      },
      overflow: (delivery) => overflow(this, delivery),
      handlerError: (error) => this.events.emit("error", asError(error)),
    });
    this.routes = new Routes({
      consumed: (delivery, handed) => {
        this.credit.consumed();
        if (handed && delivery.seq !== undefined) this.consumers.handed(delivery);
      },
      overflow: (delivery, limit) => overflow(this, delivery, limit, "subscription buffer"),
    });
    this.requests = new Requests(options.maxRequests, this.routes.hooks);
    this.waiting = new WaitingSends(options.maxWaitingSends);
    this.events.on("connected", () => this.waiting.wake());
    this.onMessage = messageHandler(this);
    this.dealer = newDealer(this);
  }
}
