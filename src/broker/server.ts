// startBroker: binds a BrokerCore to ROUTER sockets, a clock, a timer and (optionally) a store
// and an HTTP endpoint. The option and result types are in server-options.ts.
import { RECYCLES_BUFFERS, TcpRouter, type TcpRouterOptions } from "../transport/tcp/router.ts";
import { curveAuthorizer, reportingAuthorizer } from "./security/server-curve-auth.ts";
import type { PeerConnectInfo, RouterSocket } from "../transport/types.ts";
import { encodeZ85 } from "../zmtp/z85.ts";
import { zmtp } from "../transport/zmtp.ts";
import { BufferPool } from "../util/buffer-pool.ts";
import { nextTurn } from "../util/next-turn.ts";
import { Emitter } from "../util/emitter.ts";
import { loadBrokerConfig } from "./config-file.ts";
import { BrokerCore } from "./core/broker-core.ts";
import { BrokerError } from "./errors.ts";
import { LogLimiter } from "./log-limit.ts";
import { TrafficCounter } from "./traffic.ts";
import type { BrokerAction, BrokerEvent, BrokerObserver, BrokerStats } from "./types.ts";
import type { BrokerStore } from "../storage/types.ts";
import { createStore } from "./durable/storage-options.ts";
import { StoreGate } from "./durable/store-gate.ts";
import type { Broker, BrokerEvents, BrokerHttpEndpoint, BrokerOptions } from "./server-options.ts";
import { authenticator, fileCurveKeys, transportLimits } from "./server-setup.ts";

export type {
  Broker, BrokerAuth, BrokerEvents, BrokerHttpEndpoint, BrokerHttpStarter, BrokerLogEntry, BrokerOptions,
} from "./server-options.ts";

/** Endpoint bound when neither the options nor the config file name one. */
export const DEFAULT_ENDPOINT = "tcp://127.0.0.1:9999";

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
