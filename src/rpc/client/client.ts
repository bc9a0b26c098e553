// The calling side's entry point: connect() opens the MLM connection and hands each contract a
// typed proxy backed by one ClientCore (core.ts), which does the work.
import { MlmClient } from "../../client/client.ts";
import { MlmError } from "../../client/errors.ts";
import type { MlmClientOptions } from "../../client/types.ts";
import { CANCEL_STREAM } from "../wire/envelope.ts";
import { RpcError, RpcErrorCode, RpcUnavailableError } from "../errors.ts";
import { randomHex } from "../wire/ids.ts";
import type { ContractMap } from "../types.ts";
import { loadOtel } from "../otel.ts";
import { ClientCore } from "./core.ts";
import type { RpcClient, RpcClientOptions } from "./options.ts";

export type { RpcClient, RpcClientControl, RpcClientOptions, RpcClientStats } from "./options.ts";

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
