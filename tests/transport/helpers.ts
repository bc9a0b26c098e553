/** Test helpers shared by the transport tests (not a test file itself). */
import { createServer } from "node:net";
import { NATIVE_SOCKETS } from "../../src/transport/socket/select.ts";
import type { Transport } from "../../src/transport/types.ts";
import { zmtpWith } from "../../src/transport/zmtp.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

export const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
export const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
/** For tests that load the zeromq package in this process. */
export const zeromqSkip: string | false = isBun
  ? "zeromq native addon does not load on Bun"
  : isDeno
  ? "zeromq.js under Deno can leave a pending receive unwoken (observed as hangs), so in-process libzmq tests run on Node"
  : false;
/** For tests whose libzmq side runs in a Node child process. */
export const childZeromqSkip: string | false = isBun ? "zeromq native addon does not load on Bun" : false;

interface On {
  // deno-lint-ignore no-explicit-any
  on(event: any, handler: (...args: any[]) => void): unknown;
  // deno-lint-ignore no-explicit-any
  off(event: any, handler: (...args: any[]) => void): unknown;
}

/** Resolve with the arguments of the next `event` (rejects after `ms` so a broken test fails instead of hanging). */
export function next<T extends unknown[] = unknown[]>(emitter: On, event: string, ms = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`no "${event}" event within ${ms} ms`));
    }, ms);
    const handler = (...args: unknown[]) => {
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args as T);
    };
    emitter.on(event, handler);
  });
}

/** Poll `cond` on every macrotask until true (rejects after `ms`). */
export function until(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (cond()) return resolve();
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(check, 5);
    };
    check();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The `zmtp` transport on each socket API this runtime has: node:net everywhere, plus the
 * runtime's own (Bun.listen/connect, Deno.listen/connect) on Bun and Deno. Node has no native
 * socket API, so there the native variant does not exist (it is not skipped: its label says
 * where it runs). Suites loop over these so every TCP test runs on each binding.
 */
export const zmtpVariants: { label: string; socketApi: "node" | "native"; zmtp: Transport }[] = [
  { label: "node:net sockets", socketApi: "node", zmtp: zmtpWith("node") },
  ...(NATIVE_SOCKETS === undefined ? [] : [{
    label: `native ${NATIVE_SOCKETS.name === "bun" ? "Bun.listen/connect" : "Deno.listen/connect"} sockets (Bun/Deno only)`,
    socketApi: "native" as const,
    zmtp: zmtpWith("native"),
  }]),
];


/** A TCP port that nothing listens on: bind an ephemeral one, then free it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
