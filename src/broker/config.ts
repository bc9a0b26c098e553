import { ACL_RIGHTS, type AclClient, type AclOptions } from "./security/acl.ts";
import { BrokerError } from "./errors.ts";
import type { BrokerLimits } from "./types.ts";
import type { BrokerStorageOptions } from "./durable/storage-options.ts";
import type { BrokerHttpSettings } from "./types.ts";
import type { FsyncPolicy, JournalRetention, RetentionRule } from "../storage/types.ts";
import { parseZpl, type ZplNode, zplNodes, zplValue } from "./zpl.ts";

/** What a C-style `malamute.cfg` asks for, ready to pass to `startBroker`. */
export interface BrokerFileConfig {
  /** `mlm_server/bind/endpoint` values we can bind (tcp:// and inproc://), in file order. */
  endpoints: string[];
  /** `server/timeout` in ms. */
  timeout?: number;
  /** `server/verbose`. */
  verbose: boolean;
  /** `mlm_server/security/mechanism` (`curve` also when only `curve-keys` is given). */
  mechanism: "null" | "plain" | "curve";
  /**
   * `mlm_server/security/curve-keys` (this broker's extension): the broker's key pair as a czmq
   * `zcert` file, as `malamute keygen --out NAME` writes it (`NAME` or `NAME_secret`; relative to
   * the working directory). Setting it turns CURVE on; every client key is accepted (encryption
   * and server authentication; client keys show in stats and logs) unless `curveAllow` is set.
   */
  curveKeys?: string;
  /**
   * `mlm_server/security/curve-allow`: a directory of client certificates (czmq zauth "curve
   * allow from directory"): only the public keys found there may connect. Re-read at most once
   * a second, at a handshake.
   */
  curveAllow?: string;
  /** `server/auth/plain`: the `name=password` file, as written (relative to the working directory, as in C). */
  passwordsFile?: string;
  limits: Partial<BrokerLimits>;
  /** `mlm_server/storage` (this broker's extension): the data directory and its policies. */
  storage?: BrokerStorageOptions;
  /** `mlm_server/acl` (this broker's extension): what each CURVE client key may use. */
  acl?: AclOptions;
  /**
   * `mlm_server/http` (this broker's extension): `listen` (host:port), and `bearer`, or
   * `username` with `password`, to ask every request for credentials.
   */
  http?: BrokerHttpSettings;
  /** Keys that were understood but cannot be honoured, or values that were ignored. */
  warnings: string[];
}

/** Limit keys: C's own (`size-limit`, `size-warn`) and this broker's additions. */
const LIMIT_KEYS: [path: string, limit: keyof BrokerLimits][] = [
  ["mlm_server/mailbox/size-limit", "mailboxBytes"],
  ["mlm_server/mailbox/size-warn", "mailboxWarnBytes"],
  ["mlm_server/mailbox/count-limit", "mailboxMessages"],
  ["mlm_server/service/queue/size-limit", "serviceQueueBytes"],
  ["mlm_server/service/queue/size-warn", "serviceQueueWarnBytes"],
  ["mlm_server/service/queue/count-limit", "serviceQueueMessages"],
  ["mlm_server/stream/buffer/size-limit", "streamBufferBytes"],
  ["mlm_server/stream/buffer/count-limit", "streamBufferMessages"],
  ["mlm_server/limits/max-connections", "maxConnections"],
  ["mlm_server/limits/max-message-size", "maxMessageSize"],
  ["mlm_server/limits/max-malformed", "maxMalformed"],
  ["mlm_server/limits/pending-confirms", "pendingConfirms"],
  ["mlm_server/limits/inflight-bytes", "inflightBytes"],
  ["mlm_server/limits/peer-send-messages", "peerSendMessages"],
  ["mlm_server/limits/peer-send-bytes", "peerSendBytes"],
  ["mlm_server/limits/max-message-parts", "maxMessageParts"],
  ["mlm_server/limits/receive-budget", "receiveBudget"],
  ["mlm_server/limits/handshake-timeout", "handshakeTimeout"],
  ["mlm_server/limits/open-timeout", "openTimeout"],
  ["mlm_server/limits/patterns-per-connection", "patternsPerConnection"],
  ["mlm_server/limits/offers-per-connection", "offersPerConnection"],
  ["mlm_server/limits/stored-messages", "storedMessages"],
  ["mlm_server/limits/stored-bytes", "storedBytes"],
  ["mlm_server/limits/patterns-per-stream", "patternsPerStream"],
  ["mlm_server/limits/matches-per-turn", "matchesPerTurn"],
  ["mlm_server/limits/expiries-per-turn", "expiriesPerTurn"],
  ["mlm_server/stream/backlog/count-limit", "streamBacklogMessages"],
  ["mlm_server/stream/backlog/size-limit", "streamBacklogBytes"],
  ["mlm_server/limits/consumers-per-connection", "consumersPerConnection"],
  ["mlm_server/limits/durable-consumers", "durableConsumers"],
  ["mlm_server/limits/journaled-streams", "journaledStreams"],
  ["mlm_server/limits/replay-batch-messages", "replayBatchMessages"],
  ["mlm_server/limits/replay-batch-bytes", "replayBatchBytes"],
  ["server/log/burst", "logBurst"],
  ["server/log/window", "logWindow"],
];

/**
 * Read the settings of a C broker configuration file (ZPL) that this broker honours:
 * `server/timeout`, `server/verbose`, `server/auth/plain`, `mlm_server/security/mechanism`
 * (`null`, `plain` or `curve`), `mlm_server/security/curve-keys` (a `zcert` key file: CURVE),
 * `mlm_server/bind/endpoint` (repeatable), the mailbox and service-queue `size-limit` /
 * `size-warn` keys (integer bytes or `max`), and the extra limit keys documented in
 * docs/broker.md. Throws {@link BrokerError} `BROKER_CONFIG` for syntax errors and bad values.
 *
 * @example
 * ```ts
 * const cfg = parseBrokerConfig("server\n    timeout = 10000\nmlm_server\n    bind\n        endpoint = tcp://*:9999\n");
 * cfg.endpoints; // ["tcp://*:9999"]
 * ```
 */
export function parseBrokerConfig(text: string): BrokerFileConfig {
  const root = parseZpl(text);
  const warnings: string[] = [];
  const config: BrokerFileConfig = { endpoints: [], verbose: false, mechanism: "null", limits: {}, warnings };

  const timeout = zplValue(root, "server/timeout");
  if (timeout !== undefined && timeout !== "") config.timeout = integer("server/timeout", timeout);
  const verbose = zplValue(root, "server/verbose");
  config.verbose = verbose !== undefined && verbose !== "" && verbose !== "0" && verbose !== "false";

  const mechanism = zplValue(root, "mlm_server/security/mechanism");
  const curveKeys = zplValue(root, "mlm_server/security/curve-keys");
  if (mechanism === "plain" || mechanism === "curve") config.mechanism = mechanism;
  else if (mechanism !== undefined && mechanism !== "null" && mechanism !== "") {
    throw new BrokerError("BROKER_CONFIG", `mlm_server/security/mechanism: "${mechanism}" is not null, plain or curve`);
  }
  if (curveKeys) {
    if (config.mechanism === "plain") {
      throw new BrokerError("BROKER_CONFIG", "mlm_server/security: curve-keys is set but mechanism is plain; a broker speaks one of them");
    }
    config.mechanism = "curve";
    config.curveKeys = curveKeys;
    const allow = zplValue(root, "mlm_server/security/curve-allow");
    if (allow) config.curveAllow = allow;
  } else if (config.mechanism === "curve") {
    throw new BrokerError("BROKER_CONFIG", "mlm_server/security/mechanism is curve but no curve-keys file is named");
  }
  const passwords = zplValue(root, "server/auth/plain");
  if (passwords) config.passwordsFile = passwords;
  if (config.mechanism === "plain" && !config.passwordsFile) {
    warnings.push("mechanism is plain but server/auth/plain names no passwords file: every client will be refused");
  }
  if (zplValue(root, "mlm_server/security/domain") !== undefined) {
    warnings.push("mlm_server/security/domain is ignored (no ZAP domains here)");
  }

  for (const node of zplNodes(root, "mlm_server/bind/endpoint")) {
    const endpoint = node.value;
    if (endpoint.startsWith("tcp://") || endpoint.startsWith("inproc://")) config.endpoints.push(endpoint);
    else warnings.push(`line ${node.line}: cannot bind ${endpoint} (only tcp:// and inproc:// are supported)`);
  }

  for (const [path, limit] of LIMIT_KEYS) {
    const value = zplValue(root, path);
    if (value === undefined || value === "") continue;
    config.limits[limit] = value === "max" ? Infinity : integer(path, value);
  }
  const storage = storageConfig(root);
  if (storage) config.storage = storage;
  const acl = aclConfig(root);
  if (acl) config.acl = acl;
  const http = httpConfig(root);
  if (http) config.http = http;
  return config;
}

function httpConfig(root: ZplNode): BrokerHttpSettings | undefined {
  const listen = zplValue(root, "mlm_server/http/listen");
  if (listen === undefined || listen === "") return undefined;
  const bearer = zplValue(root, "mlm_server/http/bearer");
  const username = zplValue(root, "mlm_server/http/username");
  const password = zplValue(root, "mlm_server/http/password");
  if (bearer) return { listen, auth: { bearer } };
  if (username && password !== undefined) return { listen, auth: { username, password } };
  // Half a credential must not silently serve without auth.
  if (username || password) throw new BrokerError("BROKER_CONFIG", "mlm_server/http: username and password go together");
  return { listen };
}

const RETENTION_KEYS: [key: string, field: keyof JournalRetention][] = [
  ["max-bytes", "maxBytes"],
  ["max-age", "maxAge"],
  ["max-messages", "maxMessages"],
];

function retentionOf(node: ZplNode, path: string): Partial<JournalRetention> {
  const out: Partial<JournalRetention> = {};
  for (const [key, field] of RETENTION_KEYS) {
    const value = zplValue(node, key);
    if (value !== undefined && value !== "") out[field] = value === "max" ? Infinity : integer(`${path}/${key}`, value);
  }
  return out;
}

/**
 * `mlm_server/acl`: `default` (allow, deny) and one section per client, named as you like, with
 * `key` (its Z85 public key) and any of `mailbox`, `send`, `offer`, `request`, `read`, `write`
 * (comma-separated names, `*` matching any run of characters). See security/acl.ts.
 *
 * ```
 * mlm_server
 *     acl
 *         default = "deny"
 *         gpu1
 *             key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 *             offer = "qwen3vl,zimage"
 *             write = "forge.*"
 * ```
 */
function aclConfig(root: ZplNode): AclOptions | undefined {
  const nodes = zplNodes(root, "mlm_server/acl");
  if (nodes.length === 0) return undefined;
  const acl: AclOptions = { clients: [] };
  for (const node of nodes) {
    for (const child of node.children) {
      if (child.name === "default") {
        if (child.value !== "allow" && child.value !== "deny") {
          throw new BrokerError("BROKER_CONFIG", `config line ${child.line}: mlm_server/acl/default must be allow or deny`);
        }
        acl.default = child.value;
        continue;
      }
      const client: AclClient = { name: child.name, key: zplValue(child, "key") ?? "" };
      for (const right of ACL_RIGHTS) {
        const value = zplValue(child, right);
        if (value !== undefined) client[right] = value;
      }
      acl.clients.push(client);
    }
  }
  return acl;
}

/**
 * `mlm_server/storage`: `dir`, `fsync` (always, interval, never), `sync-interval` (ms),
 * `segment-size` (bytes), `journal` (0 turns it off), `on-failure` (refuse, memory),
 * `retention/max-bytes|max-age|max-messages`, and any number of `stream` blocks with a `pattern`
 * and the same three retention keys.
 */
function storageConfig(root: ZplNode): BrokerStorageOptions | undefined {
  const node = zplNodes(root, "mlm_server/storage").at(-1);
  if (!node) return undefined;
  const base = "mlm_server/storage";
  const dir = zplValue(node, "dir");
  if (dir === undefined || dir === "") return undefined;
  const storage: BrokerStorageOptions = { dir };
  const fsync = zplValue(node, "fsync");
  if (fsync !== undefined && fsync !== "") {
    if (fsync !== "always" && fsync !== "interval" && fsync !== "never") {
      throw new BrokerError("BROKER_CONFIG", `${base}/fsync: "${fsync}" is not always, interval or never`);
    }
    storage.fsync = fsync as FsyncPolicy;
  }
  const interval = zplValue(node, "sync-interval");
  if (interval) storage.syncInterval = integer(`${base}/sync-interval`, interval);
  const segment = zplValue(node, "segment-size");
  if (segment) storage.segmentBytes = integer(`${base}/segment-size`, segment);
  const journal = zplValue(node, "journal");
  if (journal !== undefined && journal !== "") storage.journal = journal !== "0" && journal !== "false";
  const onFailure = zplValue(node, "on-failure");
  if (onFailure !== undefined && onFailure !== "") {
    if (onFailure !== "refuse" && onFailure !== "memory") {
      throw new BrokerError("BROKER_CONFIG", `${base}/on-failure: "${onFailure}" is not refuse or memory`);
    }
    storage.onFailure = onFailure;
  }
  const retention = zplNodes(node, "retention").at(-1);
  if (retention) storage.retention = retentionOf(retention, `${base}/retention`);
  const rules: RetentionRule[] = [];
  for (const stream of zplNodes(node, "stream")) {
    const pattern = zplValue(stream, "pattern");
    if (!pattern) throw new BrokerError("BROKER_CONFIG", `${base}/stream (line ${stream.line}): a pattern is required`);
    try {
      new RegExp(pattern);
    } catch {
      throw new BrokerError("BROKER_CONFIG", `${base}/stream (line ${stream.line}): "${pattern}" is not a valid pattern`);
    }
    rules.push({ pattern, retention: retentionOf(stream, `${base}/stream`) });
  }
  if (rules.length > 0) storage.streams = rules;
  return storage;
}

function integer(path: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new BrokerError("BROKER_CONFIG", `${path}: "${value}" is not a whole number`);
  return Number(value);
}

/**
 * Parse a `name=password` file (`#` comments and blank lines allowed), as used by the C
 * broker's `server/auth/plain`.
 *
 * @example
 * ```ts
 * parsePasswords("# users\nadmin=secret\n").get("admin"); // "secret"
 * ```
 */
export function parsePasswords(text: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    users.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return users;
}
