// The serving side's entry point: serve() checks the handlers, opens the two MLM connections
// (calls with credit, cancels on a mailbox and the cancel stream) and starts a Worker (core.ts).
import { MlmClient } from "../../client/client.ts";
import type { MlmClientOptions } from "../../client/types.ts";
import { cancelPattern } from "../wire/cancel-subject.ts";
import type { ServiceContract } from "../contract.ts";
import { CANCEL_STREAM } from "../wire/envelope.ts";
import { RpcError, RpcErrorCode } from "../errors.ts";
import { randomHex } from "../wire/ids.ts";
import type { Handlers } from "../types.ts";
import { loadOtel } from "../otel.ts";
import { type AnyHandler, Worker } from "./core.ts";
import type { RpcWorker, ServeOptions } from "./options.ts";

export type { RpcCallRecord, RpcWorker, RpcWorkerEvents, RpcWorkerStats, ServeOptions } from "./options.ts";

/**
 * Serves a contract: takes calls of `contract.name` from the broker and runs `handlers`.
 * `concurrency` is sent to the broker as MLM credit, so a busy worker gets no further call;
 * on a broker that ignores credit (C Malamute, found out by HELLO: see `MlmClient.brokerFeatures`)
 * the worker holds the extra calls itself and still never runs more than `concurrency` at once,
 * and it sends no CONFIRM there (C Malamute would drop the session, losing the replies behind it).
 * A handler may be an async function, or an async generator for a streaming method.
 *
 * @example
 * ```ts
 * import { serve } from "malamute";
 * import { qwen3vl } from "./contracts.ts";
 *
 * const worker = await serve("tcp://127.0.0.1:9999", qwen3vl, {
 *   infer: async ({ prompt }, ctx) => {
 *     ctx.progress({ tokens: 1 });
 *     return { text: `echo: ${prompt}` };
 *   },
 *   tokens: async function* ({ prompt }, ctx) {
 *     for (const word of prompt.split(" ")) {
 *       if (ctx.signal.aborted) return;
 *       yield word;
 *     }
 *   },
 * }, { concurrency: 1 });
 * // later: await worker.close();
 * ```
 */
export async function serve<C extends ServiceContract>(
  endpoint: string,
  contract: C,
  handlers: Handlers<C>,
  options: ServeOptions = {},
): Promise<RpcWorker> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 65535) {
    throw new RpcError(RpcErrorCode.INTERNAL, `concurrency must be an integer from 1 to 65535, got ${concurrency}`);
  }
  for (const name of Object.keys(contract.methods)) {
    if (typeof (handlers as Record<string, unknown>)[name] !== "function") {
      throw new RpcError(RpcErrorCode.INTERNAL, `${contract.name}: no handler for method ${name}`);
    }
  }
  const address = options.address ?? `rpc-worker-${contract.name}-${randomHex(6)}`;
  // No "stored" CONFIRM for replies: a caller learns the outcome from the reply itself.
  const base: MlmClientOptions = { storedConfirms: false, ...options.mlm };
  if (options.transport !== undefined) base.transport = options.transport;
  if (options.curve !== undefined) base.curve = options.curve;

  // The control connection gets cancels, and confirms none of its mailbox deliveries.
  const [control, otel] = await Promise.all([
    MlmClient.connect(endpoint, { noMailboxConfirms: true, ...base, address }),
    loadOtel(options.tracing ?? true),
  ]);
  let service: MlmClient | undefined;
  try {
    await control.setConsumer(CANCEL_STREAM, cancelPattern(contract.name));
    service = await MlmClient.connect(endpoint, { ...base, credit: concurrency, manualCredit: true });
    const worker = new Worker(contract, handlers as unknown as Record<string, AnyHandler>, control, service, address, options, otel);
    await service.setWorker(contract.name, ".*");
    return worker;
  } catch (error) {
    await Promise.allSettled([control.close(), service?.close()]);
    throw error;
  }
}
