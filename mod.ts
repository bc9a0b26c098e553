/**
 * malamute — the Malamute (MLM) messaging broker, its client, and typed RPC for AI
 * services, over ZeroMQ's ZMTP 3.1, on Node 20+, Bun and Deno.
 *
 * The root export holds everything most programs need. Optional parts live behind
 * subpath exports: `malamute/zeromq` (the native libzmq transport; Node only),
 * `malamute/cli` (the command line) and `malamute/forge` (the Forge example services).
 *
 * @example Declare a service, serve it and call it
 * ```ts
 * import Type from "typebox";
 * import { connect, defineService, serve, startBroker } from "malamute";
 *
 * const echo = defineService("echo", {
 *   say: { input: Type.Object({ text: Type.String() }), output: Type.Object({ text: Type.String() }) },
 * });
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
 * const endpoint = broker.endpoints[0]!;
 * const worker = await serve(endpoint, echo, { say: async ({ text }) => ({ text: text.toUpperCase() }) });
 * const client = await connect(endpoint, { echo });
 * console.log(await client.echo.say({ text: "hi" })); // { text: "HI" }
 * await client.close(); await worker.close(); await broker.close();
 * ```
 * @module
 */

// ---- Typed RPC: contracts, clients, workers
export {
  Bytes, connect, contractFromJsonSchema, contractJsonSchema, DEFAULT_DURATION_BUCKETS, defineService, isStreamMethod,
  JSON_SCHEMA_DIALECT, registerRpcMetrics, serve,
} from "./src/rpc/mod.ts";
export type {
  CallOptions, ChunkOf, ClientMethod, ContractMap, Handler, HandlerContext, Handlers, InputOf, JsonSchemaDocument,
  MethodMap, MethodSchema, OutputOf, ProgressOf, RpcClient, RpcClientControl, RpcClientOptions, RpcClientStats,
  RpcCallRecord, RpcErrorBody, RpcErrorCodeValue, RpcMetricsOptions, RpcStream, RpcValidationIssue, RpcWorker,
  RpcWorkerEvents, RpcWorkerStats,
  ServeOptions, ServiceClient, ServiceContract, StreamCallOptions, StreamMethodSchema, TBytes, UnaryMethodSchema,
} from "./src/rpc/mod.ts";

// ---- MLM client
export { Message, MlmClient, Subscription } from "./src/client/mod.ts";
export type {
  BrokerFeatures, ClientStats, Confirmation, ConsumerFrom, ConsumerOptions, ConsumerPosition, ContentInput, Delivery,
  DurableSendOptions, MlmClientEvents, MlmClientOptions, MlmErrorCode, RequestOptions, RouteOptions, SendOptions, WhenReadyOptions,
} from "./src/client/mod.ts";

// ---- Broker
export {
  ADMIN_SERVICE, BrokerCore, ConfirmStatus, STREAM_SERVICE, DEFAULT_LIMITS, DEFAULT_TIMEOUT, loadBrokerConfig, parseBrokerConfig,
  parsePasswords,
} from "./src/broker/mod.ts";
export type {
  Broker, BrokerAction, BrokerAuth, BrokerConfig, BrokerCounters, BrokerEvent, BrokerEvents, BrokerFileConfig,
  BrokerHttpEndpoint, BrokerHttpSettings, BrokerLimits, BrokerLogEntry, BrokerObserver, BrokerOptions, BrokerStats,
  BrokerStorageOptions, BrokerTraffic, ConfirmStatusCode, LogLevel,
} from "./src/broker/mod.ts";
// startBroker that also serves `http` (metrics, admin API, events): the broker layer does not import HTTP.
export { startBroker } from "./src/http/broker.ts";

// ---- Broker storage (docs/durability.md): the stores, for custom setups and tests
export { FileStore, MemoryStore, StorageError } from "./src/storage/mod.ts";
export type {
  BrokerStore, FsyncPolicy, JournalEntry, JournalRetention, RetentionRule, StorageOp, StorageStats,
} from "./src/storage/mod.ts";
export { compilePattern, isValidPattern } from "./src/proto/pattern/mod.ts";
export type { Pattern, PatternLimits } from "./src/proto/pattern/mod.ts";

// ---- MLM wire codec
export { ADDRESS_TAKEN, decode, encode, MessageId, StatusCode } from "./src/proto/mod.ts";
export type { Content, DecodeOptions, DecodeResult, MlmMessage, MlmMessageType } from "./src/proto/mod.ts";

// ---- Transports
export { zmtp, zmtpWith } from "./src/transport/zmtp.ts";
export type { SocketApiChoice } from "./src/transport/socket/types.ts";
export { inproc } from "./src/transport/inproc.ts";
export type {
  CurveAuthorizer, CurveClientOptions, CurveKeyInput, CurveServerOptions, DealerOptions, DealerSocket, Frames,
  PeerConnectInfo, PlainAuthenticator, RouterOptions, RouterSocket, SocketStats, Transport,
} from "./src/transport/types.ts";

// ---- CURVE keys (ZMTP RFC 26 / RFC 32)
export { type CurveKeyPair, curveKeyPair, curvePublicKey } from "./src/zmtp/mechanism/curve/box.ts";
export { curveKey } from "./src/zmtp/mechanism/curve/mechanism.ts";
export { decodeZ85, encodeZ85 } from "./src/zmtp/z85.ts";
export { type CurveCert, type CurveCertFiles, formatCurveCert, parseCurveCert } from "./src/zmtp/mechanism/curve/cert.ts";
export {
  type CurveKeyPairCert, loadCurveCert, loadCurveKeyPair, MAX_CERT_FILE_BYTES, resolveCurveKey, saveCurveCert,
} from "./src/transport/curve-cert-file.ts";

// ---- Errors (each has `name`, a stable `code` and `cause`)
export { MalamuteError } from "./src/errors.ts";
export { TransportError } from "./src/transport/errors.ts";
export { CurveCertError, Z85Error, ZmtpError } from "./src/zmtp/errors.ts";
export { MlmDecodeError, MlmEncodeError } from "./src/proto/mod.ts";
export { BrokerError } from "./src/broker/mod.ts";
export { MlmError } from "./src/client/mod.ts";
export {
  RpcCancelledError, RpcContractError, RpcDeadlineError, RpcError, RpcErrorCode, RpcHandlerError,
  RpcPayloadTooLargeError, RpcProtocolError, RpcRemoteError, RpcUnknownKindError, RpcUnavailableError, RpcValidationError,
} from "./src/rpc/mod.ts";
