// What a caller configures and observes on an RPC client: its options, counters and the
// shape of the object connect() returns. Types only, so the façade and the core share them.
import type { MlmClient } from "../../client/client.ts";
import type { MlmClientOptions } from "../../client/types.ts";
import type { CurveClientOptions, Transport } from "../../transport/types.ts";
import type { ContractMap, ServiceClient } from "../types.ts";

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
