/**
 * Typed RPC over Malamute: contracts written with TypeBox, a typed client proxy, workers,
 * msgpack payloads, deadlines, cancellation, progress and streamed results.
 * Wire format: docs/rpc-wire.md. Guide: docs/rpc.md.
 *
 * @example
 * ```ts
 * import Type from "typebox";
 * import { connect, defineService, serve } from "malamute";
 *
 * const echo = defineService("echo", {
 *   say: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
 * });
 * const worker = await serve(endpoint, echo, { say: async ({ text }) => ({ text }) });
 * const client = await connect(endpoint, { echo });
 * console.log((await client.echo.say({ text: "hi" })).text);
 * ```
 * @module
 */

export { Bytes, BYTES_KEYWORD } from "./bytes.ts";
export type { BytesOptions, TBytes } from "./bytes.ts";
export { connect } from "./client/client.ts";
export type { RpcClient, RpcClientControl, RpcClientOptions, RpcClientStats } from "./client/client.ts";
export {
  binaryFrameThreshold, decodePayload, decodeValue, DEFAULT_BINARY_FRAME_THRESHOLD, encodePayload, encodeValue, payloadBytes,
} from "./wire/codec.ts";
export { BINARY_FRAME_EXT } from "./wire/msgpack-profile.ts";
export { defineService, isStreamMethod, RpcContractError } from "./contract.ts";
export type {
  ChunkOf, InputOf, MethodMap, MethodSchema, OutputOf, ProgressOf, ServiceContract, StreamMethodSchema,
  UnaryMethodSchema,
} from "./contract.ts";
export {
  CANCEL_STREAM, decodeEnvelope, decodeHeader, encodeHeader, ENVELOPE_VERSION, envelopeFrames, payloadOffset,
} from "./wire/envelope.ts";
export type { Envelope, Header, HeaderKind } from "./wire/envelope.ts";
export {
  RpcCancelledError, RpcDeadlineError, RpcError, RpcErrorCode, RpcHandlerError, RpcPayloadTooLargeError,
  RpcProtocolError, RpcRemoteError, RpcUnknownKindError, RpcUnavailableError, RpcValidationError,
} from "./errors.ts";
export type { RpcErrorBody, RpcErrorCodeValue, RpcValidationIssue } from "./errors.ts";
export { contractJsonSchema, JSON_SCHEMA_DIALECT } from "./json-schema.ts";
export { contractFromJsonSchema } from "./json-schema-contract.ts";
export type { JsonSchemaDocument } from "./json-schema.ts";
export type {
  CallOptions, ClientMethod, ContractMap, Handler, HandlerContext, Handlers, RpcStream, ServiceClient,
  StreamCallOptions,
} from "./types.ts";
export { DEFAULT_DURATION_BUCKETS, registerRpcMetrics } from "./metrics.ts";
export type { RpcMetricsOptions } from "./metrics.ts";
export { serve } from "./worker/worker.ts";
export type { RpcCallRecord, RpcWorker, RpcWorkerEvents, RpcWorkerStats, ServeOptions } from "./worker/worker.ts";
