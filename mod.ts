/**
 * malamute — the Malamute (MLM) messaging broker, its client, and typed RPC for AI
 * services, over ZeroMQ's ZMTP 3.1, on Node 20+, Bun and Deno.
 *
 * @example
 * ```ts
 * import { inproc } from "malamute";
 * const router = inproc.router();
 * await router.bind("inproc://example");
 * ```
 * @module
 */

// ---- errors
export { MalamuteError } from "./src/errors.ts";
export { TransportError } from "./src/transport/errors.ts";

// ---- transports
export { inproc } from "./src/transport/inproc.ts";
export type {
  DealerOptions, DealerSocket, Frames, PlainAuthenticator, RouterOptions, RouterSocket, SocketStats, Transport,
} from "./src/transport/types.ts";

// ---- MLM protocol
export { MessageId, StatusCode } from "./src/proto/types.ts";
export type { Content, MlmMessage, MlmMessageType } from "./src/proto/types.ts";
