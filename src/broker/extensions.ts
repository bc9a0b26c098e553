/**
 * The wire extensions of docs/mlm-extensions.md, as the broker offers them: what it answers to
 * HELLO and the flags a HELLO may ask for. C clients never send either.
 */

/**
 * Reason of the OK 200 that answers a HELLO (a CONFIRM with an empty tracker before
 * CONNECTION-OPEN): the extension version, then the features, space-separated.
 *
 * @example
 * ```ts
 * const features = HELLO_ANSWER.split(" ").slice(1); // ["confirm", "credit", "withdraw"]
 * ```
 */
export const HELLO_ANSWER = "malamute-ext/1 confirm credit withdraw stored";

/**
 * The HELLO answer of a broker that keeps a stream journal: {@link HELLO_ANSWER} plus `replay`
 * (docs/mlm-extensions.md §4).
 *
 * @example
 * ```ts
 * HELLO_ANSWER_REPLAY.endsWith(" replay"); // true
 * ```
 */
export const HELLO_ANSWER_REPLAY = `${HELLO_ANSWER} replay`;

/**
 * Flags a client asks for in its HELLO's `code`. Bits not listed are reserved and ignored.
 *
 * @example
 * ```ts
 * const hello = { type: "CONFIRM", tracker: "", code: HelloFlag.NO_MAILBOX_CONFIRMS, reason: "" };
 * ```
 */
export const HelloFlag = {
  /**
   * The connection never CONFIRMs mailbox deliveries: the broker keeps no confirmation route
   * for the tracked MAILBOX-DELIVERs it sends it (RPC clients: every reply is tracked).
   */
  NO_MAILBOX_CONFIRMS: 1,
  /**
   * Every tracked MAILBOX-SEND and SERVICE-SEND of the connection gets CONFIRM 202 "stored" once
   * the broker has taken it (stored as its fsync policy promises, or delivered at once), or its
   * failure CONFIRM (docs/mlm-extensions.md §3).
   */
  STORED_CONFIRMS: 2,
} as const;
