import { Emitter } from "../util/emitter.ts";
import { parseEndpoint } from "./endpoint.ts";
import { TransportError } from "./errors.ts";
import { checkMessageSize, messageCost } from "./common.ts";
import type {
  DealerEvents, DealerOptions, DealerSocket, Frames, RouterEvents, RouterOptions, RouterSocket, SocketStats,
  Transport,
} from "./types.ts";

/**
 * An in-memory transport for tests and for embedding a broker and its clients in one
 * process. Endpoints are `inproc://name`. Messages are handed over by reference (no copy)
 * on a later microtask, so delivery order and re-entrancy match a real network.
 *
 * Peers here are in-process code, not remote input: there is no per-peer send high-water
 * mark (no `congested`/`drained` events), no `maxMessageParts` and no receive budget;
 * `maxMessageSize` is checked with the same rule as over TCP.
 *
 * @example
 * ```ts
 * import { inproc } from "malamute";
 * const router = inproc.router();
 * await router.bind("inproc://broker");
 * const dealer = inproc.dealer();
 * dealer.connect("inproc://broker");
 * dealer.send([new TextEncoder().encode("hi")]);
 * ```
 */
export const inproc: Transport = {
  name: "inproc",
  router: (options) => new InprocRouter(options ?? {}),
  dealer: (options) => new InprocDealer(options ?? {}),
};

// Shared by every inproc socket of this process (module-level, as libzmq's inproc is per context).
const registry = new Map<string, InprocRouter>();
let nextPeerId = Math.floor(Math.random() * 0x7fffffff);

function emptyStats(): SocketStats {
  return { messagesIn: 0, messagesOut: 0, droppedUnroutable: 0, protocolErrors: 0 };
}

function idKey(id: Uint8Array): string {
  let key = "";
  for (const byte of id) key += byte.toString(16).padStart(2, "0");
  return key;
}

function generatedId(): Uint8Array {
  const n = (nextPeerId = (nextPeerId + 1) >>> 0);
  return new Uint8Array([0, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** One dealer-to-router link. */
interface Link {
  id: Uint8Array;
  dealer: InprocDealer;
  router: InprocRouter;
  endpoint: string;
  open: boolean;
}

class InprocRouter extends Emitter<RouterEvents> implements RouterSocket {
  readonly #options: RouterOptions;
  readonly #peers = new Map<string, Link>();
  readonly #names: string[] = [];
  readonly #stats = emptyStats();
  #closed = false;

  constructor(options: RouterOptions) {
    super();
    this.#options = options;
  }

  get endpoints(): readonly string[] {
    return this.#names.map((n) => `inproc://${n}`);
  }

  bind(endpoint: string): Promise<string> {
    if (this.#closed) return Promise.reject(new TransportError("SOCKET_CLOSED", "socket is closed"));
    const parsed = parseEndpoint(endpoint);
    if (parsed.scheme !== "inproc") {
      return Promise.reject(new TransportError("BAD_ENDPOINT", `inproc transport cannot bind ${endpoint}`));
    }
    if (registry.has(parsed.name)) {
      return Promise.reject(new TransportError("BIND_FAILED", `${endpoint} is already bound`));
    }
    registry.set(parsed.name, this);
    this.#names.push(parsed.name);
    return Promise.resolve(endpoint);
  }

  /** Called by a dealer; returns the link or undefined when credentials are refused. */
  async attach(dealer: InprocDealer, endpoint: string, plain?: { username: string; password: string }): Promise<Link | undefined> {
    const auth = this.#options.plain;
    if (auth) {
      const ok = plain !== undefined && (await auth.authenticate(plain.username, plain.password, { address: endpoint }));
      if (!ok) {
        this.#stats.protocolErrors++;
        return undefined;
      }
    }
    if (this.#closed) return undefined;
    const link: Link = { id: dealer.identity ?? generatedId(), dealer, router: this, endpoint, open: true };
    this.#peers.set(idKey(link.id), link);
    this.emit("connect", link.id, { address: endpoint });
    return link;
  }

  deliverFromDealer(link: Link, frames: Frames): void {
    const max = this.#options.maxMessageSize;
    if (max !== undefined && messageCost(frames) > max) {
      this.#stats.protocolErrors++;
      this.detach(link, "message too large");
      return;
    }
    this.#stats.messagesIn++;
    this.emit("message", link.id, frames);
  }

  detach(link: Link, reason: string): void {
    if (!link.open) return;
    link.open = false;
    this.#peers.delete(idKey(link.id));
    this.emit("disconnect", link.id, reason);
    link.dealer.linkLost(link, reason);
  }

  send(routingId: Uint8Array, frames: Frames): boolean {
    const link = this.#peers.get(idKey(routingId));
    if (!link || this.#closed) {
      if (this.#options.mandatory) throw new TransportError("HOST_UNREACHABLE", "no peer with that routing id");
      this.#stats.droppedUnroutable++;
      return false;
    }
    this.#stats.messagesOut++;
    queueMicrotask(() => {
      if (link.open) link.dealer.deliverFromRouter(frames);
    });
    return true;
  }

  disconnectPeer(routingId: Uint8Array): void {
    const link = this.#peers.get(idKey(routingId));
    if (link) this.detach(link, "disconnected by router");
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const name of this.#names) if (registry.get(name) === this) registry.delete(name);
    for (const link of [...this.#peers.values()]) this.detach(link, "router closed");
    return Promise.resolve();
  }
}

class InprocDealer extends Emitter<DealerEvents> implements DealerSocket {
  readonly #options: DealerOptions;
  readonly #links: Link[] = [];
  readonly #queue: Frames[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #stats = emptyStats();
  #nextLink = 0;
  #closed = false;

  constructor(options: DealerOptions) {
    super();
    this.#options = options;
  }

  get identity(): Uint8Array | undefined {
    return this.#options.routingId;
  }

  get connected(): boolean {
    return this.#links.length > 0;
  }

  connect(endpoint: string): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    const parsed = parseEndpoint(endpoint);
    if (parsed.scheme !== "inproc") throw new TransportError("BAD_ENDPOINT", `inproc transport cannot connect ${endpoint}`);
    this.#attempt(parsed.name, endpoint, this.#options.reconnectInterval ?? 100);
  }

  #attempt(name: string, endpoint: string, delay: number): void {
    if (this.#closed) return;
    const router = registry.get(name);
    if (!router) {
      this.#later(() => this.#attempt(name, endpoint, this.#nextDelay(delay)), delay);
      return;
    }
    router.attach(this, endpoint, this.#options.plain).then((link) => {
      if (!link) return; // refused credentials: like libzmq after a PLAIN error, give up on this endpoint
      if (this.#closed) {
        router.detach(link, "dealer closed");
        return;
      }
      this.#links.push(link);
      this.emit("connect", endpoint);
      this.#flush();
    }, (err: unknown) => this.emit("error", err instanceof Error ? err : new Error(String(err))));
  }

  #nextDelay(delay: number): number {
    const max = this.#options.reconnectIntervalMax ?? 0;
    return max > delay ? Math.min(max, delay * 2) : delay;
  }

  #later(fn: () => void, delay: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, delay);
    this.#timers.add(timer);
  }

  linkLost(link: Link, reason: string): void {
    const index = this.#links.indexOf(link);
    if (index < 0) return;
    this.#links.splice(index, 1);
    this.emit("disconnect", link.endpoint, reason);
    if (!this.#closed) {
      const name = (parseEndpoint(link.endpoint) as { name: string }).name;
      const delay = this.#options.reconnectInterval ?? 100;
      this.#later(() => this.#attempt(name, link.endpoint, delay), delay);
    }
  }

  deliverFromRouter(frames: Frames): void {
    if (this.#closed) return;
    this.#stats.messagesIn++;
    this.emit("message", frames);
  }

  send(frames: Frames): void {
    if (this.#closed) throw new TransportError("SOCKET_CLOSED", "socket is closed");
    checkMessageSize(frames, this.#options.maxMessageSize);
    if (this.#links.length === 0) {
      const hwm = this.#options.sendHighWaterMark ?? 1000;
      if (this.#queue.length >= hwm) {
        throw new TransportError("SEND_QUEUE_FULL", `no peer connected and ${hwm} messages already queued`);
      }
      this.#queue.push(frames);
      return;
    }
    this.#sendNow(frames);
  }

  #sendNow(frames: Frames): void {
    const link = this.#links[this.#nextLink++ % this.#links.length] as Link;
    this.#stats.messagesOut++;
    queueMicrotask(() => {
      if (link.open) link.router.deliverFromDealer(link, frames);
    });
  }

  #flush(): void {
    while (this.#queue.length > 0 && this.#links.length > 0) this.#sendNow(this.#queue.shift() as Frames);
  }

  stats(): SocketStats {
    return { ...this.#stats };
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    for (const link of [...this.#links]) link.router.detach(link, "dealer closed");
    return Promise.resolve();
  }
}
