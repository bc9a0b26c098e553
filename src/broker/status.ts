/**
 * Status codes the broker puts in the CONFIRMs it sends on its own, when a tracked
 * MAILBOX-SEND or SERVICE-SEND cannot be delivered. They extend MLM's 3xx "failed"
 * family (300 FAILED is MLM's own); a CONFIRM that a recipient sends is forwarded to
 * the original sender with the recipient's own code and reason, unchanged.
 * See docs/broker.md for when each one is sent.
 *
 * @example
 * ```ts
 * client.on("confirm", (c) => {
 *   if (c.code === ConfirmStatus.EXPIRED) console.log(`${c.tracker} timed out in the broker`);
 * });
 * ```
 */
export const ConfirmStatus = {
  /** The recipient confirmed (forwarded from the recipient; the broker never invents it). */
  SUCCESS: 200,
  /**
   * The broker has taken the message (stored as its fsync policy promises, or delivered at once).
   * Sent only to connections that asked for it with the HELLO flag `STORED_CONFIRMS`
   * (docs/mlm-extensions.md §3), before any CONFIRM of the recipient.
   */
  STORED: 202,
  /** Generic failure, e.g. an unknown `malamute.admin` command. */
  FAILED: 300,
  /** The message's `timeout` passed while it waited in a mailbox or service queue. */
  EXPIRED: 301,
  /** Refused by a limit: mailbox or service queue full (count or bytes), or message too large. */
  LIMIT: 302,
  /** No possible recipient: MAILBOX-SEND to the empty (anonymous) address. */
  NO_ROUTE: 303,
  /** The broker shut down while the message was queued or in flight. */
  SHUTDOWN: 304,
  /**
   * WITHDRAW (docs/mlm-extensions.md §2): the sender sends a CONFIRM with this code and the
   * request's tracker to take back a tracked SERVICE-SEND; the broker answers with this code
   * and reason "withdrawn" once the request is removed (at once when queued; when the worker
   * holding it leaves, if it was in flight).
   */
  WITHDRAWN: 305,
  /**
   * The broker has a data directory but cannot write to it (disk full, permissions): a message
   * it would have to store is refused rather than held without the durability it promised.
   */
  UNAVAILABLE: 306,
} as const;

/**
 * Reason of the ERROR 300 that refuses a STREAM-READ beyond `patternsPerConnection` or
 * `patternsPerStream`. The session stays open and keeps its other subscriptions; a C client's
 * `mlm_client_set_consumer` returns -1 (and its actor ends, as for any ERROR 300).
 *
 * @example
 * ```ts
 * if (error.status === 300 && error.message.includes(SUBSCRIPTION_REFUSED)) console.warn("subscription cap");
 * ```
 */
export const SUBSCRIPTION_REFUSED = "too many subscriptions";

/**
 * Reason prefix of the ERROR 300 answering a STREAM-READ or SERVICE-OFFER whose pattern does
 * not compile (`isValidPattern` is false); the pattern's error follows after `: `. Nothing is
 * subscribed or offered and the session stays.
 *
 * @example
 * ```ts
 * if (error.status === 300 && error.message.includes(PATTERN_REFUSED)) console.warn("fix the pattern");
 * ```
 */
export const PATTERN_REFUSED = "invalid pattern";

/** Reason of the ERROR 300 answering a SERVICE-OFFER beyond `offersPerConnection`. */
export const OFFER_REFUSED = "too many offers";

/**
 * Reason of the ERROR 300 (OPEN, STREAM-WRITE, STREAM-READ, SERVICE-OFFER) or CONFIRM 300
 * (MAILBOX-SEND, SERVICE-SEND) refusing what the broker's ACL does not allow this client's
 * CURVE key. The session stays open.
 */
export const ACL_REFUSED = "not authorized";

/** Reason of the CONFIRM 302 for a message refused because every queue together is full (`storedMessages`, `storedBytes`). */
export const STORE_FULL = "broker storage full";

/** One of the {@link ConfirmStatus} values. */
export type ConfirmStatusCode = (typeof ConfirmStatus)[keyof typeof ConfirmStatus];

/**
 * Name of the service the broker answers itself: SERVICE-SEND with subject `STATS` gets a
 * MAILBOX-DELIVER whose one content frame is the JSON of the broker's stats (the requester
 * needs a named address).
 *
 * @example
 * ```ts
 * const ops = await MlmClient.connect(endpoint, { address: "ops" });
 * ops.sendFor(ADMIN_SERVICE, "STATS", "");
 * const stats = JSON.parse(new TextDecoder().decode((await ops.receive()).content[0]));
 * ```
 */
export const ADMIN_SERVICE = "malamute.admin";

/**
 * Name of the built-in service that manages stream consumers: replay from the journal, durable
 * positions, acknowledgements (docs/mlm-extensions.md §4). Commands are the subject (`READ`,
 * `ACK`, `CANCEL`); the content is one JSON frame.
 *
 * @example
 * ```ts
 * client.sendFor(STREAM_SERVICE, "READ", JSON.stringify({ stream: "forge.events", from: "first" }));
 * ```
 */
export const STREAM_SERVICE = "malamute.stream";
