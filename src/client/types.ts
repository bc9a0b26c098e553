import type { CurveClientOptions, Transport } from "../transport/types.ts";

/**
 * Options of {@link MlmClient.connect}. Every field is optional; defaults are safe for a
 * broker on the same network.
 *
 * @example
 * ```ts
 * const client = await MlmClient.connect("tcp://127.0.0.1:9999", {
 *   address: "worker-1",
 *   credit: 8,            // the broker sends at most 8 deliveries ahead of consumption
 *   heartbeat: 1000,
 *   reconnect: { interval: 100, max: 250 },
 * });
 * ```
 */
export interface MlmClientOptions {
  /** Mailbox address; "" = anonymous, no mailbox (default ""). At most 255 UTF-8 bytes. */
  address?: string;
  /** Milliseconds to wait for OK on connect and on each role command. Default 5000. */
  timeout?: number;
  /**
   * What `connect()` does when an attempt fails before any handshake (connection refused, host
   * not resolved): `false` (default) rejects at once with `MLM_UNREACHABLE` and the cause;
   * `true` keeps retrying until `timeout` (a broker that is still starting), then rejects with
   * `MLM_TIMEOUT` naming the last cause. A refused PLAIN handshake always rejects at once.
   * (The zeromq and inproc transports do not report failed attempts: they always wait.)
   */
  waitForBroker?: boolean;
  /** ZMTP PLAIN credentials. */
  plain?: { username: string; password: string };
  /**
   * ZMTP CURVE: encrypt the connection and authenticate the broker by its public key
   * (`serverKey`) and ourselves by our key pair. Keys are 32 bytes or 40 Z85 characters;
   * `loadCurveKeyPair(file)` / `resolveCurveKey(keyOrFile)` read `malamute keygen` files. A
   * broker that does not prove `serverKey`, or refuses our key, makes `connect` reject with
   * MlmError `MLM_REFUSED`. Exclusive with `plain`.
   *
   * @example
   * ```ts
   * const client = await MlmClient.connect(endpoint, { curve: { serverKey, ...await loadCurveKeyPair("keys/me") } });
   * ```
   */
  curve?: CurveClientOptions;
  /** Socket factory. Default: the pure TypeScript `zmtp` TCP transport. */
  transport?: Transport;
  /**
   * Credit window: the number of deliveries the broker may send ahead of the application.
   * Default 1000. `false` never sends CREDIT (the C client's behaviour: the broker is unlimited).
   * Windows above 65535 are announced as several CREDIT messages.
   */
  credit?: number | false;
  /** When true the client never tops credit up by itself; call `addCredit(n)`. Default false. */
  manualCredit?: boolean;
  /** CONNECTION-PING interval, ms. Default 1000. */
  heartbeat?: number;
  /** Broker silence (ms) after which the client emits "disconnected" and re-opens. Default 4000. */
  expiry?: number;
  /** Maximum deliveries held but not yet consumed. Default max(credit window, 1000). */
  receiveBuffer?: number;
  /**
   * Sends (send/sendTo/sendFor) held while the session is down; beyond it they throw
   * `MLM_NOT_CONNECTED`. Default 1000.
   */
  sendBuffer?: number;
  /**
   * Reconnect backoff: first delay `interval` ms (default 100), doubling up to `max` ms
   * (default 250; the transport adds up to as much again in jitter, so a broker restarted
   * after any outage is found within 500 ms). `false`: the first loss of the session closes the client.
   */
  reconnect?: { interval?: number; max?: number } | false;
  /**
   * Tell the broker (flag NO_MAILBOX_CONFIRMS of the HELLO, docs/mlm-extensions.md) that this
   * client never CONFIRMs the mailbox deliveries it gets, so the broker keeps no confirmation
   * route for them. Default false. Set it for clients that receive many tracked mailbox
   * messages and never confirm them: RPC clients (every reply is tracked by its call id) and a
   * worker's control connection set it. A C broker ignores it.
   *
   * @example
   * ```ts
   * const caller = await MlmClient.connect(endpoint, { address: "caller-1", noMailboxConfirms: true });
   * ```
   */
  noMailboxConfirms?: boolean;
  /**
   * Ask the broker (HELLO flag STORED_CONFIRMS, docs/mlm-extensions.md §3) to answer every
   * tracked MAILBOX-SEND and SERVICE-SEND with CONFIRM 202 "stored" once it has the message,
   * which `sendTo`/`sendFor` with `durable: true` wait for. Default true. 202s that no durable
   * send waits for are dropped: the `confirm` event never sees code 202. The RPC layer sets it to
   * false (its calls are tracked; a 202 per call and reply would be traffic for nothing).
   *
   * @example
   * ```ts
   * const lean = await MlmClient.connect(endpoint, { storedConfirms: false });
   * ```
   */
  storedConfirms?: boolean;
  /**
   * Durable sends waiting for their "stored" answer (held for re-sending until it comes). At
   * the limit a durable send rejects with `MLM_LIMIT` (counted in `stats().limitRefusals`).
   * Default 1000.
   */
  maxDurableSends?: number;
  /**
   * Stream consumers (`setConsumer` with options) this client may hold at once. Beyond it
   * `setConsumer` rejects with `MLM_LIMIT` (counted in `stats().limitRefusals`). Default 64.
   */
  maxConsumers?: number;
  /**
   * `request()` calls waiting for their reply at once. Beyond it `request()` rejects with
   * `MLM_LIMIT` (nothing sent). Default 1000.
   */
  maxRequests?: number;
  /**
   * Awaitable sends (`sendWhenReady`, `sendToWhenReady`, `sendForWhenReady`) waiting for room at
   * once. Beyond it they reject with `MLM_LIMIT` (nothing sent). Default 1000.
   */
  maxWaitingSends?: number;
}

/**
 * Options of `sendTo` and `sendFor`.
 *
 * @example
 * ```ts
 * client.sendFor("echo", "ping", "payload", { tracker: "call-1", timeout: 3000 });
 * ```
 */
export interface SendOptions {
  /** Tracker echoed in the delivery and in CONFIRMs (at most 255 UTF-8 bytes). Default "". */
  tracker?: string;
  /** Milliseconds the broker may hold the message before discarding it; 0 = never (default). */
  timeout?: number;
  /** `true` makes the send return a promise of "stored": see {@link DurableSendOptions}. */
  durable?: false;
}

/**
 * Options of a durable `sendTo`/`sendFor`: the call returns a promise that resolves once the
 * broker has the message (CONFIRM 202 "stored", docs/mlm-extensions.md §3: on disk as the
 * broker's fsync policy promises, or delivered at once) and rejects with an `MlmError`
 * otherwise: `MLM_NOT_STORED` (with `status`) on a failure CONFIRM, `MLM_UNSUPPORTED` when the
 * broker lacks the `stored` feature or the client has `storedConfirms: false`,
 * `MLM_BAD_ARGUMENT` for an empty tracker or one already waiting, `MLM_LIMIT` beyond
 * `maxDurableSends`, `MLM_CLOSED` when the client closes first.
 *
 * The message is kept until its answer comes: if the session drops first, it is sent again on
 * the next session (at least once: the broker may get it twice if the answer was lost).
 *
 * @example
 * ```ts
 * await client.sendTo("billing", "invoice", body, { tracker: "inv-42", durable: true });
 * ```
 */
export interface DurableSendOptions {
  /** Required, non-empty: the "stored" answer is matched by tracker. */
  tracker: string;
  timeout?: number;
  durable: true;
}

/**
 * Where a stream consumer starts (docs/mlm-extensions.md §4): the oldest retained entry, only
 * new entries, a sequence number, the first entry at or after a time, or the last N entries.
 *
 * @example
 * ```ts
 * const from: ConsumerFrom = { time: new Date(Date.now() - 60_000) }; // the last minute
 * ```
 */
export type ConsumerFrom = "first" | "new" | { seq: number } | { time: Date | number } | { last: number };

/**
 * Options that make `setConsumer` a journal consumer (through the broker's `malamute.stream`
 * service) instead of a plain STREAM-READ. Needs a broker with the `replay` feature.
 *
 * @example
 * ```ts
 * await client.setConsumer("forge.events", ".*", { from: "first", durable: "dashboard" });
 * ```
 */
export interface ConsumerOptions {
  /** Where to start. Default `"new"`. A durable consumer with a stored position resumes after it instead. */
  from?: ConsumerFrom;
  /** Name of a durable consumer: the broker keeps its acknowledged position. At most 255 UTF-8 bytes. */
  durable?: string;
  /**
   * Durable consumers: acknowledge each delivery once it is handed to the application
   * (`receive()`, iteration or a handler), in batches (at most one ACK per 100 ms, or one per
   * 256 entries, and on close). Default true. With false, call `client.ack(delivery)`.
   */
  autoAck?: boolean;
}

/**
 * The broker's answer to a consumer's READ.
 *
 * @example
 * ```ts
 * const { next, head } = await client.setConsumer("jobs", ".*", { from: "first" });
 * console.log(`${head - next + 1} entries of history`);
 * ```
 */
export interface ConsumerPosition {
  /** Sequence number of the first entry the consumer may get. */
  next: number;
  /** The last sequence number the stream had assigned when the READ was handled (0: none yet). */
  head: number;
}

/**
 * One message delivered to this client. `content` holds the received frames themselves (not copies).
 *
 * @example
 * ```ts
 * const d = await client.receive();
 * if (d.kind === "service") client.sendTo(d.sender, d.subject, d.content, { tracker: d.tracker });
 * ```
 */
export interface Delivery {
  /** Which route it came by: a stream, the client's mailbox or a service it offers. */
  kind: "stream" | "mailbox" | "service";
  /** Address of the client that sent it ("" for anonymous senders). */
  sender: string;
  /** Stream name, mailbox address or service name. */
  address: string;
  subject: string;
  /** The sender's tracker; "" for stream deliveries and untracked messages. */
  tracker: string;
  content: Uint8Array[];
  /** The stream entry's sequence number: only on deliveries to a consumer set with options. */
  seq?: number;
}

/**
 * A CONFIRM the broker forwarded: the outcome of a tracked message this client sent.
 *
 * @example
 * ```ts
 * client.on("confirm", (c) => { if (c.code !== 200) console.warn(c.tracker, "failed:", c.reason); });
 * ```
 */
export interface Confirmation {
  tracker: string;
  /** 200 = success; 300 and above = failure (expired, dropped, unroutable, refused by the recipient). */
  code: number;
  reason: string;
}

/**
 * Message content: strings become UTF-8 frames; Uint8Arrays are sent as they are, never copied.
 *
 * @example
 * ```ts
 * client.sendTo("bob", "mixed", ["text frame", new Uint8Array([1, 2, 3])]); // two frames
 * ```
 */
export type ContentInput = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/**
 * Counters of one client, for monitoring.
 *
 * @example
 * ```ts
 * const { droppedDeliveries, pendingSends } = client.stats();
 * ```
 */
export interface ClientStats {
  /** Deliveries received from the broker. */
  received: number;
  /** Deliveries dropped because the receive buffer was full. */
  droppedDeliveries: number;
  /** Sends dropped because their `timeout` passed while they waited for the session. */
  expiredSends: number;
  /** CONFIRMs not sent: the session was down, or the broker refused CONFIRM earlier (C broker). */
  skippedConfirms: number;
  /** Messages from the broker that did not decode, or that a client never expects. */
  malformed: number;
  /** Sessions re-opened after a loss. */
  reopens: number;
  /** Deliveries waiting in the receive buffer now. */
  buffered: number;
  /** Sends waiting for the session now. */
  pendingSends: number;
  /** Durable sends waiting for their "stored" answer now. */
  pendingDurable: number;
  /** Durable sends and consumers refused by `maxDurableSends` / `maxConsumers`. */
  limitRefusals: number;
  /** Consumer deliveries dropped because their sequence number was already delivered (a re-read after a reconnect). */
  duplicateDeliveries: number;
  /** Stream consumers held now. */
  consumers: number;
}
