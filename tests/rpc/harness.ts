// Test helpers for RPC integration tests: a real broker on an ephemeral TCP port, and
// cleanup of everything a test opened, in reverse order.
import assert from "node:assert/strict";
import { RpcError } from "../../src/rpc/errors.ts";
import { type RpcWorker, serve } from "../../src/rpc/worker/worker.ts";
import { qwen3vl } from "./contracts.ts";
import { type Broker, startBroker } from "../../src/broker/server.ts";
import type { BrokerLimits } from "../../src/broker/types.ts";

export interface Rig {
  broker: Broker;
  endpoint: string;
  /** Register something to close at the end of the test. */
  own<T extends { close(): Promise<void> }>(thing: T): T;
  close(): Promise<void>;
}

export async function rig(limits?: Partial<BrokerLimits>): Promise<Rig> {
  const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"], ...(limits ? { limits } : {}) });
  const owned: { close(): Promise<void> }[] = [];
  return {
    broker,
    endpoint: broker.endpoints[0] as string,
    own(thing) {
      owned.push(thing);
      return thing;
    },
    async close() {
      for (const thing of owned.reverse()) await thing.close().catch(() => {});
      await broker.close();
    },
  };
}

/** A promise plus its resolve function, for handlers that wait for the test. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits until `check()` is true, polling on a short timer; fails after `ms`. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
  });
}

/** Awaits a call that must fail and returns its RpcError (fails the test otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<RpcError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RpcError, `expected an RpcError, got ${String(error)}`);
    return error;
  }
  assert.fail("the call should have failed");
}

/** A streaming handler that yields nothing. */
export const noTokens = async function* (): AsyncGenerator<string> {};

/**
 * A qwen3vl worker whose `tokens` yields "0", "1", ... until the call is cancelled; `stopped`
 * resolves with the handler's abort reason.
 */
export async function serveEndlessTokens(r: Rig): Promise<{ stopped: Promise<unknown> }> {
  const stopped = gate<unknown>();
  r.own(await serve(r.endpoint, qwen3vl, {
    infer: async () => ({ text: "", tokens: 0 }),
    tokens: async function* (_input, ctx) {
      void aborted(ctx.signal).then(stopped.open);
      for (let i = 0; !ctx.signal.aborted; i++) {
        yield String(i);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
  }));
  return { stopped: stopped.promise };
}

/**
 * A qwen3vl worker with concurrency 1 whose `infer` echoes the prompt, but holds a call with
 * prompt "blocker" until `release()`; `prompts` lists the calls it started, in order.
 */
export async function serveBlocking(r: Rig): Promise<{ worker: RpcWorker; prompts: string[]; release: () => void }> {
  const gateOpen = gate();
  const prompts: string[] = [];
  const worker = r.own(await serve(r.endpoint, qwen3vl, {
    infer: async ({ prompt }) => {
      prompts.push(prompt);
      if (prompt === "blocker") await gateOpen.promise;
      return { text: prompt, tokens: 0 };
    },
    tokens: noTokens,
  }, { concurrency: 1 }));
  return { worker, prompts, release: () => gateOpen.open() };
}

/** A qwen3vl worker whose `infer` echoes the prompt; `runs()` counts the calls that reached it. */
export async function serveCountingEcho(r: Rig): Promise<{ worker: RpcWorker; runs: () => number }> {
  let ran = 0;
  const worker = r.own(await serve(r.endpoint, qwen3vl, {
    infer: async ({ prompt }) => {
      ran++;
      return { text: prompt, tokens: 0 };
    },
    tokens: noTokens,
  }));
  return { worker, runs: () => ran };
}

/** Things a test opens, closed newest first by `closeAll` (e.g. in `afterEach`). */
export function closer(): { own: <T extends { close(): Promise<void> }>(thing: T) => T; closeAll: () => Promise<void> } {
  const owned: Array<{ close(): Promise<void> }> = [];
  return {
    own: (thing) => {
      owned.push(thing);
      return thing;
    },
    closeAll: async () => {
      for (const thing of owned.splice(0).reverse()) await thing.close().catch(() => {});
    },
  };
}
