import type { Frames } from "../transport/types.ts";
import { encode } from "../proto/mod.ts";

/**
 * What the broker said about itself in answer to HELLO (docs/mlm-extensions.md §1), learned
 * anew on every connection, before CONNECTION-OPEN.
 *
 * - Our broker answers `OK 200 "malamute-ext/1 confirm credit withdraw"`: `extended` is true
 *   and `features` lists the names.
 * - C Malamute (or any older broker) answers `ERROR 500` and keeps the connection usable:
 *   `extended` is false and `features` is empty. The client then never sends CONFIRM (C
 *   Malamute would answer ERROR 300 and forget the session) nor WITHDRAW, and a worker must
 *   enforce its own concurrency, since CREDIT is ignored.
 *
 * @example
 * ```ts
 * const client = await MlmClient.connect("tcp://127.0.0.1:9999");
 * const { extended, features } = client.brokerFeatures;
 * console.log(extended ? `extensions: ${features.join(" ")}` : "classic MLM broker (C Malamute)");
 * if (client.brokerFeatures.features.includes("withdraw")) console.log("queued requests can be taken back");
 * ```
 */
export interface BrokerFeatures {
  /** True when the broker answered HELLO with OK (it speaks the extensions). */
  readonly extended: boolean;
  /** The protocol tag of the answer, e.g. `"malamute-ext/1"`; `""` for a classic broker. */
  readonly version: string;
  /**
   * Feature names: `"confirm"`, `"credit"`, `"withdraw"`, `"stored"` (durable sends can be
   * awaited), `"replay"` (stream consumers with history)... Empty for a classic broker.
   */
  readonly features: readonly string[];
}

/** A broker that answered HELLO with an ERROR (or not yet asked): plain MLM. */
export const CLASSIC_BROKER: BrokerFeatures = Object.freeze({ extended: false, version: "", features: Object.freeze([]) });

/** HELLO flag (docs/mlm-extensions.md §1): this connection never CONFIRMs mailbox deliveries. */
export const NO_MAILBOX_CONFIRMS = 1;

/**
 * HELLO flag (docs/mlm-extensions.md §3): every tracked MAILBOX-SEND and SERVICE-SEND of this
 * connection gets CONFIRM {@link STORED_CODE} once the broker has taken it, or its failure CONFIRM.
 */
export const STORED_CONFIRMS = 2;

/** CONFIRM code of "stored" (docs/mlm-extensions.md §3): the broker has the message. */
export const STORED_CODE = 202;

/** Feature a broker lists when it answers STORED_CONFIRMS with CONFIRM 202. */
export const FEATURE_STORED = "stored";

/** Feature a broker lists when it keeps stream journals and serves `malamute.stream` (§4). */
export const FEATURE_REPLAY = "replay";

/** CONFIRM code of WITHDRAW (docs/mlm-extensions.md §2). */
export const WITHDRAW_CODE = 305;

/** The HELLO message: a CONFIRM with an empty tracker whose code carries the flags. */
export function helloFrames(flags: number): Frames {
  return encode({ type: "CONFIRM", tracker: "", code: flags, reason: "" });
}

/** The features an OK answer to HELLO announces: `"malamute-ext/1 confirm credit"`. */
export function parseHelloAnswer(reason: string): BrokerFeatures {
  const [version = "", ...features] = reason.split(" ").filter((word) => word !== "");
  if (!version.startsWith("malamute-ext/")) return CLASSIC_BROKER;
  return Object.freeze({ extended: true, version, features: Object.freeze(features) });
}
