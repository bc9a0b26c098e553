/**
 * The Malamute client: {@link MlmClient} and its types.
 *
 * @example
 * ```ts
 * import { MlmClient } from "./src/client/mod.ts";
 * const client = await MlmClient.connect("tcp://127.0.0.1:9999", { address: "me" });
 * client.sendTo("me", "hello", "hi");
 * console.log((await client.receive()).subject); // hello
 * await client.close();
 * ```
 * @module
 */
export { MlmClient } from "./client.ts";
export type { MlmClientEvents } from "./client.ts";
export { MlmError } from "./errors.ts";
export type { MlmErrorCode } from "./errors.ts";
export type { BrokerFeatures } from "./features.ts";
export { Message } from "./message.ts";
export type { RequestOptions } from "./receive/request.ts";
export { Subscription } from "./receive/routes.ts";
export type { RouteOptions } from "./receive/routes.ts";
export type { WhenReadyOptions } from "./send/when-ready.ts";
export type {
  ClientStats, Confirmation, ConsumerFrom, ConsumerOptions, ConsumerPosition, ContentInput, Delivery, DurableSendOptions,
  MlmClientOptions, SendOptions,
} from "./types.ts";
