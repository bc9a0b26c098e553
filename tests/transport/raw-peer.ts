/** A raw ZMTP peer over TCP for hostile-input tests, and an echo ROUTER with a healthy client (not a test file). */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { TcpRouter, type TcpRouterOptions } from "../../src/transport/tcp/router.ts";
import type { DealerSocket, Frames } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { decodeCommand, encodeCommand, encodeGreeting, encodeMetadata, FrameDecoder } from "../../src/zmtp/mod.ts";
import { dec, enc, next, until } from "./helpers.ts";

export { longHeader } from "../zmtp/helpers.ts";

/**
 * A raw TCP client that records what it receives (or only counts it, with `keep: false`) and
 * when it is closed.
 */
export class Raw {
  readonly socket: Socket;
  received: Uint8Array[] = [];
  bytesReceived = 0;
  closed = false;
  readonly whenClosed: Promise<void>;

  constructor(endpoint: string, options: { keep?: boolean } = {}) {
    const keep = options.keep ?? true;
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint) as RegExpExecArray;
    this.socket = connect({ host: m[1] as string, port: Number(m[2]) });
    this.socket.on("data", (d: Uint8Array) => {
      this.bytesReceived += d.length;
      if (keep) this.received.push(new Uint8Array(d));
    });
    this.socket.on("error", () => {});
    this.whenClosed = new Promise((r) => this.socket.on("close", () => {
      this.closed = true;
      r();
    }));
  }

  /** Resolves when the peer has closed this connection; rejects after `ms` (a test must not hang). */
  closedWithin(ms = 5000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    });
    return Promise.race([this.whenClosed, late]).finally(() => clearTimeout(timer));
  }

  connected(): Promise<void> {
    return new Promise((r) => this.socket.once("connect", () => r()));
  }

  write(...parts: Uint8Array[]): void {
    for (const p of parts) this.socket.write(p);
  }

  /** Send a NULL greeting and READY as a DEALER; resolves once the peer's READY has arrived (needs `keep`). */
  async handshake(): Promise<void> {
    this.write(...handshakeBytes());
    await until(() => this.commands().includes("READY"), 5000, "the peer's READY");
  }

  /** Names of the commands received after the 64-byte greeting. */
  commands(): string[] {
    const all = new Uint8Array(this.received.reduce((n, b) => n + b.length, 0));
    let o = 0;
    for (const b of this.received) {
      all.set(b, o);
      o += b.length;
    }
    const names: string[] = [];
    if (all.length <= 64) return names;
    new FrameDecoder().push(all, 64, { stopped: false, frame: (_f, body) => names.push(decodeCommand(body).name) });
    return names;
  }
}

/** One short frame (body up to 255 bytes). */
export const frame = (flags: number, body: Uint8Array): Uint8Array => {
  const out = new Uint8Array(2 + body.length);
  out[0] = flags;
  out[1] = body.length;
  out.set(body, 2);
  return out;
};

/** A READY command frame announcing `type`. */
export const ready = (type: string): Uint8Array =>
  frame(4, encodeCommand("READY", encodeMetadata([["Socket-Type", enc(type)]])));

/** What a NULL DEALER sends to complete its side of the handshake. */
export const handshakeBytes = (): Uint8Array[] => [encodeGreeting("NULL", false), ready("DEALER")];

/** A ROUTER that echoes, with one healthy DEALER connected to it. */
export async function echoRouter(options: TcpRouterOptions = {}): Promise<{
  router: TcpRouter;
  endpoint: string;
  healthy: DealerSocket;
  checkHealthy: (text: string) => Promise<void>;
  close: () => Promise<void>;
}> {
  const router = new TcpRouter(options);
  router.on("message", (id, frames) => router.send(id, frames));
  const endpoint = await router.bind("tcp://127.0.0.1:0");
  const healthy = zmtp.dealer({
    ...(options.plain ? { plain: { username: "good", password: "pw" } } : {}),
    ...(options.socketApi ? { socketApi: options.socketApi } : {}),
  });
  const up = Promise.all([next(healthy, "connect"), next(router, "connect")]);
  healthy.connect(endpoint);
  await up;
  const checkHealthy = async (text: string) => {
    const got = next<[Frames]>(healthy, "message", 5000);
    healthy.send([enc(text)]);
    const [frames] = await got;
    assert.equal(dec(frames[0] as Uint8Array), text);
  };
  return {
    router,
    endpoint,
    healthy,
    checkHealthy,
    close: async () => {
      await healthy.close();
      await router.close();
    },
  };
}
