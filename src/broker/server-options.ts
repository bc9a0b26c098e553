// The public shapes of a running broker and of startBroker's options (re-exported by
// server.ts, where startBroker lives).
import type { BrokerStorageOptions } from "./durable/storage-options.ts";
import type { AclOptions } from "./security/acl.ts";
import type { CurveAuthPolicy } from "./security/server-curve-auth.ts";
import type { CurveServerOptions, PlainAuthenticator, Transport } from "../transport/types.ts";
import type { BrokerHttpSettings, BrokerLimits, BrokerObserver, BrokerStats, LogLevel } from "./types.ts";

/** Who may connect. `null` (the default) lets everyone in; `plain` checks ZMTP PLAIN credentials. */
export interface BrokerAuth {
  mechanism: "null" | "plain";
  /** Accepted `name → password` pairs. */
  users?: Record<string, string> | Map<string, string>;
  /** A C-style `name=password` file, re-read on every authentication (so edits apply at once). */
  passwordsFile?: string;
  /** Custom check; used when given, instead of `users` and `passwordsFile`. */
  authenticate?: PlainAuthenticator;
}

/** One log record of the broker. */
export interface BrokerLogEntry {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown>;
}

/** Options of {@link startBroker}. Explicit options win over the config file. */
export interface BrokerOptions {
  /** Endpoints to bind, e.g. `["tcp://127.0.0.1:0"]`. Default: the config file's, else `tcp://127.0.0.1:9999`. */
  endpoints?: string[];
  /** Socket factory: `zmtp` (default), `inproc`, or the `zeromq` transport object. */
  transport?: Transport;
  /** Client expiry in ms (C `server/timeout`). Default 10 000. */
  timeout?: number;
  limits?: Partial<BrokerLimits>;
  auth?: BrokerAuth;
  /**
   * ZMTP CURVE (RFC 26): every connection encrypted, the broker authenticated by `publicKey`.
   * Keys are 32 bytes or 40 Z85 characters (`loadCurveKeyPair(file)` reads a `malamute keygen`
   * / czmq `zcert` file). `authorize` decides which client public keys get in: `"any"` (the
   * default: encryption and server authentication only), `{ directory }` (czmq zauth "curve
   * allow from directory": the public keys of the certificate files there, re-read at most once
   * a second) or an async callback. Refusals are counted (`curveRefused`), logged (rate-limited)
   * and answered with ZMTP ERROR "400". An admitted client's key shows as `curveKey` (Z85) in
   * `stats().clientList`, the admin STATS answer and the connection logs, and selects its rules
   * in `acl`. Exclusive with `auth: { mechanism: "plain" }`. Default: the config file's
   * `mlm_server/security/curve-keys` and `curve-allow`, else none.
   *
   * @example
   * ```ts
   * const broker = await startBroker({ curve: await loadCurveKeyPair("keys/broker") });
   * ```
   */
  curve?: Omit<CurveServerOptions, "authorize"> & { authorize?: CurveAuthPolicy };
  /** Path of a C broker `malamute.cfg` (ZPL) to read endpoints, timeout, security and limits from. */
  config?: string;
  /**
   * On close, how long the final CONFIRMs and replies may take to leave, in ms. The `zmtp`
   * transport flushes each connection and closes it as soon as that is done, within this
   * bound; with other transports the broker waits this long when it has just sent something.
   * Default 100.
   */
  linger?: number;
  /**
   * Reuse the buffers of large messages (16 KiB to 1 MiB) once forwarded, instead of leaving
   * them to the garbage collector. Applies to the `zmtp` transport on Node. Default true.
   */
  recycleBuffers?: boolean;
  /**
   * The sockets under the `zmtp` transport: `node` (node:net), `native` (Bun's or Deno's own;
   * an error on Node) or `auto` (default: whichever measured faster on this runtime).
   */
  socketApi?: "node" | "native" | "auto";
  /** Receives log records from the start (also available later as the `log` event). */
  log?: (entry: BrokerLogEntry) => void;
  /**
   * Keep mailboxes, service queues and stream journals in a store, so they survive a restart and
   * streams can be replayed (docs/broker.md "Durability"). Default: the config file's
   * `mlm_server/storage`, else memory only, exactly as the C broker.
   */
  storage?: BrokerStorageOptions;
  /**
   * Serve metrics and the admin API over HTTP (off by default; the config file's
   * `mlm_server/http/listen` otherwise). Needs `startHttp`, which `malamute`'s root
   * `startBroker` passes (the broker layer does not import the HTTP layer).
   */
  http?: BrokerHttpSettings;
  /** Starts the HTTP endpoint of `http` for the broker; injected by `malamute`'s `startBroker`. */
  startHttp?: BrokerHttpStarter;
  /**
   * Which mailbox addresses, services and streams each CURVE client key may use (src/broker/security/acl.ts).
   * Default: the config file's `mlm_server/acl`, else none (everything allowed).
   */
  acl?: AclOptions;
}

/** An HTTP endpoint attached to a broker, closed with it. */
export interface BrokerHttpEndpoint {
  /** Base URL with the real port, e.g. `http://127.0.0.1:8222`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the HTTP endpoint (src/http `startBrokerHttp`). */
export type BrokerHttpStarter = (broker: Broker, settings: BrokerHttpSettings) => Promise<BrokerHttpEndpoint>;

/** Events of a running broker. */
export interface BrokerEvents {
  log: (entry: BrokerLogEntry) => void;
  error: (error: Error) => void;
}

/** A running broker. */
export interface Broker {
  /** Bound endpoints with real ports. */
  readonly endpoints: readonly string[];
  /** Clients, mailboxes, streams, services and counters right now. */
  stats(): BrokerStats;
  /** Base URL of the HTTP endpoint (`http` option), else undefined. */
  readonly http: string | undefined;
  /** Report per-service figures and selected stream messages to `observer` (see {@link BrokerObserver}). */
  observe(observer: BrokerObserver | undefined): void;
  on<E extends keyof BrokerEvents>(event: E, handler: BrokerEvents[E]): this;
  off<E extends keyof BrokerEvents>(event: E, handler: BrokerEvents[E]): this;
  /** Graceful stop: senders of queued tracked messages get CONFIRM 304, then the sockets close. Idempotent. */
  close(): Promise<void>;
}
