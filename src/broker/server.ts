import { readFile } from "node:fs/promises";
import { RECYCLES_BUFFERS, TcpRouter, type TcpRouterOptions } from "../transport/tcp-router.ts";
import { loadCurveKeyPair } from "../transport/curve-cert-file.ts";
import { type CurveAuthPolicy, curveAuthorizer, reportingAuthorizer } from "./security/server-curve-auth.ts";
import type { CurveServerOptions, PeerConnectInfo, PlainAuthenticator, RouterSocket, Transport } from "../transport/types.ts";
import { encodeZ85 } from "../zmtp/z85.ts";
import type { AclOptions } from "./security/acl.ts";
import { zmtp } from "../transport/zmtp.ts";
import { BufferPool } from "../util/buffer-pool.ts";
import { nextTurn } from "../util/next-turn.ts";
import { Emitter } from "../util/emitter.ts";
import { loadBrokerConfig } from "./config-file.ts";
import { parsePasswords } from "./config.ts";
import { BrokerCore } from "./core/broker-core.ts";
import { BrokerError } from "./errors.ts";
import { HEADER_ALLOWANCE } from "./limits.ts";
import { LogLimiter } from "./log-limit.ts";
import { TrafficCounter } from "./traffic.ts";
import type {
  BrokerAction, BrokerEvent, BrokerHttpSettings, BrokerLimits, BrokerObserver, BrokerStats, LogLevel,
} from "./types.ts";
import type { BrokerStore } from "../storage/types.ts";
import { type BrokerStorageOptions, createStore } from "./durable/storage-options.ts";
import { StoreGate } from "./durable/store-gate.ts";

/** Endpoint bound when neither the options nor the config file name one. */
export const DEFAULT_ENDPOINT = "tcp://127.0.0.1:9999";

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
   * Which mailbox addresses, services and streams each CURVE client key may use (src/broker/acl.ts).
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

/**
 * Start a Malamute broker: bind a ROUTER on each endpoint and serve MLM until `close()`.
 * Resolves once every endpoint is bound; rejects with {@link BrokerError} `BROKER_BIND`
 * or `BROKER_CONFIG` otherwise.
 *
 * @example
 * ```ts
 * import { startBroker } from "malamute";
 * const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
 * console.log(broker.endpoints); // ["tcp://127.0.0.1:40123"]
 * broker.on("log", (e) => console.error(e.level, e.message, e.fields));
 * await broker.close();
 * ```
 */
export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const early = options.log;
  const file = options.config !== undefined ? await loadBrokerConfig(options.config) : undefined;
  if (file && early) for (const warning of file.warnings) early({ level: "warn", message: warning, fields: {} });
  const endpoints = options.endpoints ?? (file && file.endpoints.length > 0 ? file.endpoints : [DEFAULT_ENDPOINT]);
  const auth = options.auth ??
    (file?.mechanism === "plain" ? { mechanism: "plain" as const, passwordsFile: file.passwordsFile } : undefined);
  const curve = options.curve ?? (file?.curveKeys !== undefined && options.auth === undefined
    ? { ...await fileCurveKeys(file.curveKeys), ...(file.curveAllow ? { authorize: { directory: file.curveAllow } } : {}) }
    : undefined);
  if (curve && auth?.mechanism === "plain") {
    throw new BrokerError("BROKER_CONFIG", "the broker takes either CURVE keys or PLAIN authentication, not both");
  }
  const limits = { ...file?.limits, ...options.limits };
  const storageOptions = options.storage ?? file?.storage;
  const store = createStore(storageOptions, limits.maxMessageSize ?? 64 * 1024 * 1024);
  const core = new BrokerCore({
    timeout: options.timeout ?? file?.timeout,
    limits,
    ...(options.acl ?? file?.acl ? { acl: options.acl ?? file?.acl } : {}),
    ...(store ? {
      storage: { journal: storageOptions?.journal, onFailure: storageOptions?.onFailure, describe: () => store.stats() },
    } : {}),
  });
  if (store) {
    try {
      core.restore(await store.open());
    } catch (cause) {
      throw new BrokerError("BROKER_STORAGE", `cannot open the broker's storage: ${(cause as Error).message}`, { cause });
    }
    const recovery = store.stats().recovery;
    early?.({ level: "info", message: "storage opened", fields: {
      kind: store.kind, fsync: store.fsync, records: recovery.records, entries: recovery.entries, ms: recovery.ms,
      discardedBytes: recovery.discardedBytes, discardedRecords: recovery.discardedRecords,
    } });
    for (const note of recovery.notes) early?.({ level: "warn", message: `storage recovery: ${note}`, fields: {} });
  }
  const transport = options.transport ?? zmtp;
  const linger = options.linger ?? 100;
  // Large bodies are forwarded through recycled buffers: without this, 64 KiB requests at a
  // few thousand per second keep the GC running full collections (docs/broker.md §Memory).
  const recycle = transport === zmtp && RECYCLES_BUFFERS && options.recycleBuffers !== false;
  const pool = recycle ? new BufferPool() : undefined;
  const routerOptions: TcpRouterOptions = {
    linger, ...transportLimits(core.limits), ...(pool ? { pool } : {}),
    ...(options.socketApi ? { socketApi: options.socketApi } : {}),
  };
  if (auth?.mechanism === "plain") routerOptions.plain = { authenticate: authenticator(auth) };
  let started: MlmBroker | undefined;
  if (curve) {
    routerOptions.curve = {
      publicKey: curve.publicKey,
      secretKey: curve.secretKey,
      authorize: reportingAuthorizer(curveAuthorizer(curve.authorize), (key, address) => started?.curveRefused(key, address)),
    };
  }
  let router: RouterSocket;
  try {
    router = transport.router(routerOptions);
  } catch (cause) {
    await store?.close();
    // Bad keys (wrong length, not Z85, a public key that is not the secret key's).
    throw new BrokerError("BROKER_CONFIG", `cannot start the broker's socket: ${(cause as Error).message}`, { cause });
  }
  const broker = new MlmBroker(core, router, router instanceof TcpRouter ? 0 : linger, pool, store);
  started = broker;
  if (early) broker.on("log", early);
  try {
    for (const endpoint of endpoints) {
      try {
        await router.bind(endpoint);
      } catch (cause) {
        // Transports usually name the endpoint already ("cannot bind tcp://...: EADDRINUSE").
        const reason = cause instanceof Error ? cause.message : String(cause);
        const message = reason.includes(endpoint) ? reason : `cannot bind ${endpoint}: ${reason}`;
        throw new BrokerError("BROKER_BIND", message, { cause });
      }
    }
  } catch (error) {
    await broker.abort();
    await store?.close();
    throw error;
  }
  const http = options.http ?? file?.http;
  if (http) {
    try {
      if (!options.startHttp) {
        throw new BrokerError("BROKER_CONFIG", "http needs the startBroker of \"malamute\" (the root export), which serves it");
      }
      broker.attach(await options.startHttp(broker, http));
    } catch (error) {
      await broker.close();
      throw error instanceof BrokerError ? error : new BrokerError(
        "BROKER_BIND", `cannot serve http on ${http.listen}: ${(error as Error).message}`, { cause: error },
      );
    }
  }
  return broker;
}

/** The broker's limits that the transport enforces (docs/broker.md, "Limits"). */
function transportLimits(limits: Readonly<BrokerLimits>): TcpRouterOptions {
  return {
    // maxMessageSize counts content; the transport counts every frame, the MLM header too.
    maxMessageSize: limits.maxMessageSize + HEADER_ALLOWANCE,
    maxMessageParts: limits.maxMessageParts,
    handshakeTimeout: limits.handshakeTimeout,
    receiveBudget: limits.receiveBudget,
    sendHighWaterMark: { messages: limits.peerSendMessages, bytes: limits.peerSendBytes },
  };
}

async function fileCurveKeys(path: string): Promise<CurveServerOptions> {
  try {
    const { publicKey, secretKey } = await loadCurveKeyPair(path);
    return { publicKey, secretKey };
  } catch (cause) {
    throw new BrokerError("BROKER_CONFIG", `mlm_server/security/curve-keys: ${(cause as Error).message}`, { cause });
  }
}

function authenticator(auth: BrokerAuth): PlainAuthenticator {
  if (auth.authenticate) return auth.authenticate;
  const users = auth.users instanceof Map ? auth.users : new Map(Object.entries(auth.users ?? {}));
  const file = auth.passwordsFile;
  return async (username, password) => {
    if (users.get(username) === password) return true;
    if (file === undefined) return false;
    try {
      return parsePasswords(await readFile(file, "utf8")).get(username) === password;
    } catch {
      return false;
    }
  };
}

const hexCache = new WeakMap<Uint8Array, string>();

function keyOf(id: Uint8Array): string {
  let key = hexCache.get(id);
  if (key === undefined) {
    key = "";
    for (let i = 0; i < id.length; i++) key += (id[i] as number).toString(16).padStart(2, "0");
    hexCache.set(id, key);
  }
  return key;
}

/** Binds a {@link BrokerCore} to a ROUTER socket, a clock and a timer. */
class MlmBroker extends Emitter<BrokerEvents> implements Broker {
  readonly #core: BrokerCore;
  readonly #router: RouterSocket;
  /** Connection key → routing id. */
  readonly #ids = new Map<string, Uint8Array>();
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  #timerAt = Infinity;
  #closing: Promise<void> | undefined = undefined;
  /** How long to wait before closing a ROUTER that does not flush on close (0 = it does). */
  readonly #linger: number;
  /** Recycles large content buffers the core is done with (zmtp transport). */
  readonly #pool: BufferPool | undefined;
  /** Events raised while actions are being executed (a send may report congestion): run after them. */
  readonly #deferred: BrokerEvent[] = [];
  #running = false;
  #continueScheduled = false;
  readonly #store: BrokerStore | undefined;
  /** Holds effects until what was stored before them is durable (a store that writes files). */
  readonly #gate: StoreGate | undefined;
  #storeFailureReported = false;
  readonly #traffic = new TrafficCounter();
  /** Rate limit of the warnings raised here (the core limits its own), by kind. */
  readonly #warnings: LogLimiter;
  #warningsSuppressed = 0;
  #http: BrokerHttpEndpoint | undefined = undefined;

  constructor(
    core: BrokerCore, router: RouterSocket, linger: number, pool: BufferPool | undefined, store: BrokerStore | undefined,
  ) {
    super();
    this.#core = core;
    this.#router = router;
    this.#linger = linger;
    this.#pool = pool;
    this.#store = store;
    this.#gate = store && store.kind === "file" ? new StoreGate(store, this.#onStoreError) : undefined;
    this.#warnings = new LogLimiter(core.limits.logBurst, core.limits.logWindow);
    router.on("message", this.#onMessage);
    router.on("connect", this.#onConnect);
    router.on("disconnect", this.#onDisconnect);
    router.on("congested", this.#onCongested);
    router.on("drained", this.#onDrained);
    router.on("error", this.#onError);
  }

  get endpoints(): readonly string[] {
    return this.#router.endpoints;
  }

  stats(): BrokerStats {
    const stats = this.#core.stats(performance.now());
    if (this.#pool) stats.bufferPool = this.#pool.stats();
    stats.traffic = this.#traffic.snapshot();
    stats.counters.logsSuppressed += this.#warningsSuppressed;
    return stats;
  }

  get http(): string | undefined {
    return this.#http?.url;
  }

  observe(observer: BrokerObserver | undefined): void {
    this.#core.observe(observer);
  }

  /** The HTTP endpoint started for this broker: closed first on close. */
  attach(endpoint: BrokerHttpEndpoint): void {
    this.#http = endpoint;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Undo a failed start: close the sockets without a shutdown (nothing was served, nothing to log). */
  abort(): Promise<void> {
    this.#closing ??= this.#closeRouter();
    return this.#closing;
  }

  async #closeRouter(): Promise<void> {
    this.#detach();
    await this.#router.close();
    this.#router.off("error", this.#onError);
  }

  async #shutdown(): Promise<void> {
    await this.#http?.close();
    const told = this.#run({ type: "shutdown" });
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#detach();
    await this.#gate?.drain();
    await this.#store?.close();
    // Transports that close without draining (#linger > 0) get a moment to send the last
    // replies and the shutdown CONFIRMs; the zmtp ROUTER flushes them itself on close.
    if (told > 0 && this.#linger > 0) await new Promise((resolve) => setTimeout(resolve, this.#linger));
    await this.#router.close();
    this.#router.off("error", this.#onError);
    this.#ids.clear();
  }

  /** Stop feeding the core (the error handler stays until the router is closed). */
  #detach(): void {
    this.#router.off("message", this.#onMessage);
    this.#router.off("connect", this.#onConnect);
    this.#router.off("disconnect", this.#onDisconnect);
    this.#router.off("congested", this.#onCongested);
    this.#router.off("drained", this.#onDrained);
  }

  #onCongested = (id: Uint8Array): void => {
    this.#run({ type: "congested", conn: keyOf(id) });
  };

  #onDrained = (id: Uint8Array): void => {
    this.#run({ type: "drained", conn: keyOf(id) });
  };

  #scheduleContinue = (): void => {
    if (this.#continueScheduled) return;
    this.#continueScheduled = true;
    nextTurn(this.#onContinue);
  };

  #onContinue = (): void => {
    this.#continueScheduled = false;
    if (this.#closing === undefined) this.#run({ type: "continue" });
  };

  #onMessage = (id: Uint8Array, frames: Uint8Array[]): void => {
    const conn = keyOf(id);
    if (!this.#ids.has(conn)) this.#ids.set(conn, id);
    this.#traffic.in(frames);
    this.#run({ type: "frames", conn, frames });
  };

  #onConnect = (id: Uint8Array, info?: PeerConnectInfo): void => {
    const conn = keyOf(id);
    this.#ids.set(conn, id);
    const key = info?.curvePublicKey;
    this.#run(key ? { type: "connect", conn, curveKey: encodeZ85(key) } : { type: "connect", conn });
  };

  /**
   * The transport refused a CURVE client's key (see `reportingAuthorizer`): counted as
   * `curveRefused` and logged, rate-limited.
   */
  curveRefused(key: Uint8Array, address: string): void {
    this.#run({ type: "curve-refused", key: encodeZ85(key), address });
  }

  #onDisconnect = (id: Uint8Array): void => {
    const conn = keyOf(id);
    this.#run({ type: "disconnect", conn });
    this.#ids.delete(conn);
  };

  #onError = (error: Error): void => {
    if (this.listens("error")) this.emit("error", error);
    else this.#warn("transport error", `transport: ${error.message}`, {});
  };

  /** Feed one event to the core and execute its actions; returns the number of messages sent. */
  #run(event: BrokerEvent): number {
    if (this.#running) {
      // Keeps the core's actions in order: a nested event's sends must not overtake these.
      this.#deferred.push(event);
      return 0;
    }
    this.#running = true;
    let sent = 0;
    try {
      sent = this.#execute(event);
      for (let next = this.#deferred.shift(); next; next = this.#deferred.shift()) sent += this.#execute(next);
    } finally {
      this.#running = false;
    }
    if (this.#closing === undefined) this.#schedule();
    return sent;
  }

  #execute(event: BrokerEvent): number {
    const actions = this.#core.handle(event, performance.now());
    if (this.#gate) return this.#executeGated(actions, this.#gate);
    let sent = 0;
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i] as BrokerAction;
      if (action.type === "send") {
        const id = this.#ids.get(action.conn);
        if (id === undefined) continue;
        sent++;
        try {
          this.#traffic.out(action.frames);
          this.#router.send(id, action.frames);
        } catch (error) {
          this.#warn("send failed", `send failed: ${(error as Error).message}`, { conn: action.conn });
        }
      } else if (action.type === "disconnect") {
        const id = this.#ids.get(action.conn);
        if (id !== undefined) this.#router.disconnectPeer(id);
      } else if (action.type === "release") {
        this.#pool?.releaseAll(action.frames);
      } else if (action.type === "continue") {
        // After the I/O callbacks already due, so other clients are served in between.
        this.#scheduleContinue();
      } else if (action.type === "store") {
        this.#apply(action.ops);
      } else if (action.type === "read") {
        this.#read(action);
      } else {
        this.#emitLog(action);
      }
    }
    return sent;
  }

  /** As `#execute`, with a store that writes files: effects wait behind what was stored before them. */
  #executeGated(actions: BrokerAction[], gate: StoreGate): number {
    let sent = 0;
    for (let i = 0; i < actions.length; i++) {
      const action = actions[i] as BrokerAction;
      switch (action.type) {
        case "send": {
          const { conn, frames } = action;
          sent++;
          gate.run(() => {
            const id = this.#ids.get(conn);
            if (id === undefined) return;
            try {
              this.#traffic.out(frames);
              this.#router.send(id, frames);
            } catch (error) {
              this.#warn("send failed", `send failed: ${(error as Error).message}`, { conn });
            }
          });
          break;
        }
        case "disconnect": {
          const conn = action.conn;
          gate.run(() => {
            const id = this.#ids.get(conn);
            if (id !== undefined) this.#router.disconnectPeer(id);
          });
          break;
        }
        case "release": {
          const pool = this.#pool;
          if (pool) gate.run(() => pool.releaseAll(action.frames));
          break;
        }
        case "store":
          this.#apply(action.ops);
          gate.applied();
          break;
        case "read":
          this.#read(action);
          break;
        case "continue":
          // Behind the held sends: the next turn must see the congestion they cause.
          gate.run(this.#scheduleContinue);
          break;
        default:
          this.#emitLog(action);
      }
    }
    return sent;
  }

  #apply(ops: Extract<BrokerAction, { type: "store" }>["ops"]): void {
    const store = this.#store as BrokerStore;
    store.apply(ops);
    if (store.failed && !this.#storeFailureReported) this.#onStoreError(store.failed);
  }

  #onStoreError = (error: Error): void => {
    if (this.#storeFailureReported) return;
    this.#storeFailureReported = true;
    this.#run({ type: "storage-failed", reason: error.message });
  };

  #read(action: Extract<BrokerAction, { type: "read" }>): void {
    const store = this.#store;
    if (!store) {
      this.#run({ type: "journal", ticket: action.ticket, entries: [], error: "no store" });
      return;
    }
    store.read(action.stream, action.from, action.maxEntries, action.maxBytes).then(
      (entries) => {
        if (this.#closing === undefined) this.#run({ type: "journal", ticket: action.ticket, entries });
      },
      (error: unknown) => {
        if (this.#closing === undefined) this.#run({ type: "journal", ticket: action.ticket, entries: [], error: String(error) });
      },
    );
  }

  /** A warning that may repeat (a peer can cause it): at most `logBurst` of a `kind` per `logWindow`. */
  #warn(kind: string, message: string, fields: Record<string, unknown>): void {
    const now = performance.now();
    this.#reportSuppressed(now);
    if (this.#warnings.admit(kind, now)) this.#emitLog({ type: "log", level: "warn", message, fields });
    else this.#warningsSuppressed++;
  }

  #reportSuppressed(now: number): void {
    for (const { kind, count } of this.#warnings.due(now)) {
      this.#emitLog({ type: "log", level: "info", message: `${count} more "${kind}" log lines suppressed`, fields: { kind, count } });
    }
  }

  #emitLog(action: Extract<BrokerAction, { type: "log" }>): void {
    if (this.listens("log")) this.emit("log", { level: action.level, message: action.message, fields: action.fields ?? {} });
  }

  /** Keep one timer armed at the core's next deadline; later deadlines never re-arm it. */
  #schedule(): void {
    const next = this.#core.nextDeadline();
    if (next === undefined || next >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(this.#onTimer, Math.max(0, next - performance.now()) + 1);
  }

  #onTimer = (): void => {
    this.#reportSuppressed(performance.now());
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#run({ type: "tick" });
  };
}
