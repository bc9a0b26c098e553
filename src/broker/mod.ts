/**
 * The Malamute broker: the sans-I/O core, the server that runs it over a transport, its
 * configuration (including the C broker's `malamute.cfg`), status codes and limits.
 *
 * @example
 * ```ts
 * import { startBroker, ConfirmStatus } from "./src/broker/mod.ts";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
 * console.log(broker.endpoints, broker.stats().counters, ConfirmStatus.EXPIRED);
 * await broker.close();
 * ```
 * @module
 */

export { BrokerCore } from "./core/broker-core.ts";
export { startBroker, DEFAULT_ENDPOINT } from "./server.ts";
export type {
  Broker, BrokerAuth, BrokerEvents, BrokerHttpEndpoint, BrokerHttpStarter, BrokerLogEntry, BrokerOptions,
} from "./server.ts";
export { ADMIN_SERVICE, ConfirmStatus, PATTERN_REFUSED, STREAM_SERVICE, SUBSCRIPTION_REFUSED } from "./status.ts";
export { HELLO_ANSWER, HELLO_ANSWER_REPLAY, HelloFlag } from "./extensions.ts";
export type { ConfirmStatusCode } from "./status.ts";
export { DEFAULT_LIMITS, DEFAULT_TIMEOUT, resolveLimits } from "./limits.ts";
export { parseBrokerConfig, parsePasswords } from "./config.ts";
export type { BrokerFileConfig } from "./config.ts";
export { loadBrokerConfig } from "./config-file.ts";
export { BrokerError } from "./errors.ts";
export type { BrokerStorageOptions } from "./durable/storage-options.ts";
export type { CoreStorageConfig } from "./types.ts";
export type {
  BrokerAction, BrokerClientStats, BrokerConfig, BrokerCounters, BrokerEvent, BrokerHttpSettings, BrokerLimits,
  BrokerObserver, BrokerStats, BrokerTraffic, LogLevel,
} from "./types.ts";
export { ACL_REFUSED } from "./status.ts";
export { compileAcl, globMatch } from "./security/acl.ts";
export type { Acl, AclClient, AclOptions, AclRight, AclRules } from "./security/acl.ts";
export { zcertPublicKey } from "./security/curve-cert.ts";
export { allowAnyCurveKey, curveAuthorizer, curveKeyDirectory, reportingAuthorizer } from "./security/server-curve-auth.ts";
export type { CurveAuthPolicy, CurveKeyDirectoryOptions } from "./security/server-curve-auth.ts";
