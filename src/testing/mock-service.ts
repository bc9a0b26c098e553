import type { InputOf, MethodSchema, ServiceContract } from "../rpc/contract.ts";
import { isStreamMethod } from "../rpc/contract.ts";
import { RpcError, RpcErrorCode } from "../rpc/errors.ts";
import type { Handler, HandlerContext, Handlers } from "../rpc/types.ts";
import { type RpcWorker, serve, type ServeOptions } from "../rpc/worker/worker.ts";
import type { Transport } from "../transport/types.ts";

/**
 * One call a mock received, in arrival order.
 *
 * @example
 * ```ts
 * const [call] = mock.callsOf("infer");
 * assert.equal(call.input.prompt, "hi"); assert.equal(call.meta.user, "ada");
 * ```
 */
export interface MockCall<I = unknown> {
  method: string;
  input: I;
  meta: Readonly<Record<string, string>>;
  /** The call's deadline, ms since the Unix epoch. */
  deadline: number;
  caller: string;
  callId: string;
  /** Set once the call ended: `ok`, or the code of the error the caller got (`RPC_CANCELLED` when aborted). */
  outcome?: string;
}

const BEHAVIOUR = Symbol("malamute.mockBehaviour");

/**
 * A canned answer for a mocked method: {@link reply}, {@link fail}, {@link delay} or {@link stream}.
 *
 * @example
 * ```ts
 * const slowNo: MockBehaviour = delay(200, fail(new RpcError("BUSY", "try later")));
 * ```
 */
export interface MockBehaviour {
  readonly [BEHAVIOUR]: (input: unknown, ctx: HandlerContext<unknown>) => unknown;
}

/** What a mocked method may be given: a real handler, or a canned behaviour. */
export type MockHandler<M extends MethodSchema> = Handler<M> | MockBehaviour;

/**
 * Handlers of a mock: any subset of the contract's methods. A method left out fails every call
 * with `RPC_INTERNAL "<service>.<method> is not mocked"`.
 */
export type MockHandlers<C extends ServiceContract> = {
  readonly [K in keyof C["methods"] & string]?: MockHandler<C["methods"][K]>;
};

const behaviour = (run: MockBehaviour[typeof BEHAVIOUR]): MockBehaviour => ({ [BEHAVIOUR]: run });
const isBehaviour = (value: unknown): value is MockBehaviour =>
  typeof value === "object" && value !== null && BEHAVIOUR in value;

/**
 * Always answer `value` (a unary method's output).
 *
 * @example
 * ```ts
 * await mockService(t, qwen3vl, { infer: reply({ text: "a cat", usage: { promptTokens: 1, completionTokens: 2 } }) });
 * ```
 */
export function reply<T>(value: T): MockBehaviour {
  return behaviour(() => value);
}

/**
 * Fail every call with `error` (an `RpcError` reaches the caller with its code; anything else
 * as `RPC_INTERNAL`).
 *
 * @example
 * ```ts
 * mock.next("generate", fail(new RpcError("FORGE_BACKEND_DOWN", "no GPU")));
 * ```
 */
export function fail(error: Error): MockBehaviour {
  return behaviour(() => {
    throw error;
  });
}

/**
 * Wait `ms` (or until the call is cancelled or its deadline passes), then do `then` (default:
 * answer `undefined`, which suits nothing but a deadline test).
 *
 * @example
 * ```ts
 * mock.next("infer", delay(5_000)); // the caller's 100 ms deadline fires first
 * ```
 */
export function delay(ms: number, then?: MockBehaviour): MockBehaviour {
  return behaviour(async (input, ctx) => {
    await sleep(ms, ctx.signal);
    return then ? then[BEHAVIOUR](input, ctx) : undefined;
  });
}

/**
 * Stream `chunks` (a streaming method), `everyMs` apart (default 0), then end or throw `error`.
 *
 * @example
 * ```ts
 * await mockService(t, qwen3vl, { tokens: stream(["Hel", "lo"], { everyMs: 10 }) });
 * ```
 */
export function stream(chunks: readonly unknown[], options: { everyMs?: number; error?: Error } = {}): MockBehaviour {
  return behaviour((_input, ctx) =>
    (async function* () {
      for (const chunk of chunks) {
        if (options.everyMs) await sleep(options.everyMs, ctx.signal);
        yield chunk;
      }
      if (options.error) throw options.error;
    })()
  );
}

/**
 * A mocked service: a real RPC worker on the broker whose calls are recorded.
 *
 * @example
 * ```ts
 * const mock = await mockService(t, zimage, { generate: reply(fakeImage) });
 * await client.zimage.generate({ prompt: "sea" });
 * assert.equal(mock.callsOf("generate")[0]?.input.prompt, "sea");
 * ```
 */
export interface MockService<C extends ServiceContract> {
  readonly worker: RpcWorker;
  /** Every call so far, in arrival order. */
  readonly calls: readonly MockCall[];
  /** The calls of one method, with their input typed. */
  callsOf<K extends keyof C["methods"] & string>(method: K): MockCall<InputOf<C["methods"][K]>>[];
  /** Replace a method's handler for every later call. */
  set<K extends keyof C["methods"] & string>(method: K, handler: MockHandler<C["methods"][K]>): void;
  /** Use `handler` for the next call of `method` only (queued: several `next` serve several calls). */
  next<K extends keyof C["methods"] & string>(method: K, handler: MockHandler<C["methods"][K]>): void;
  /** Resolves once `count` calls (of `method`, if given) were received; rejects after `timeoutMs` (default 5000). */
  waitForCalls(count: number, options?: { method?: string; timeoutMs?: number }): Promise<MockCall[]>;
  /** Forget the recorded calls. */
  reset(): void;
  close(): Promise<void>;
}

/** Where a mock connects: a {@link TestBroker}, or any endpoint with its transport. */
export interface MockTarget {
  readonly endpoint: string;
  readonly transport?: Transport;
  own?<T extends { close(): Promise<unknown> }>(thing: T): T;
}

/**
 * Serve `contract` with canned or hand-written handlers and record every call (input, meta,
 * deadline, caller, outcome). Inputs are validated against the contract as by a real worker,
 * so a caller sending a bad input sees `RPC_VALIDATION` exactly as in production. When
 * `target` is a {@link TestBroker} the mock is closed with it.
 *
 * @example
 * ```ts
 * const t = await testBroker();
 * const mock = await mockService(t, qwen3vl, { infer: reply({ text: "a red square" }) });
 * const client = t.own(await connect(t.endpoint, { qwen3vl }, t.options));
 * mock.next("infer", fail(new RpcError("MODEL_DOWN", "GPU lost")));
 * ```
 */
export async function mockService<C extends ServiceContract>(
  target: MockTarget,
  contract: C,
  handlers: MockHandlers<C>,
  options: Omit<ServeOptions, "transport"> = {},
): Promise<MockService<C>> {
  const calls: MockCall[] = [];
  const fixed = new Map<string, MockHandler<MethodSchema>>(Object.entries(handlers as Record<string, MockHandler<MethodSchema>>));
  const queued = new Map<string, MockHandler<MethodSchema>[]>();
  const watchers = new Set<() => void>();
  const pick = (method: string): MockHandler<MethodSchema> | undefined => queued.get(method)?.shift() ?? fixed.get(method);

  const record = (name: string, input: unknown, ctx: HandlerContext<unknown>): MockCall => {
    const call: MockCall = { method: name, input, meta: ctx.meta, deadline: ctx.deadline, caller: ctx.caller, callId: ctx.callId };
    calls.push(call);
    for (const wake of watchers) wake();
    return call;
  };
  const run = (call: MockCall, ctx: HandlerContext<unknown>): unknown => {
    const handler = pick(call.method);
    if (handler === undefined) throw new RpcError(RpcErrorCode.INTERNAL, `${contract.name}.${call.method} is not mocked`);
    return isBehaviour(handler) ? handler[BEHAVIOUR](call.input, ctx) : (handler as (i: unknown, c: HandlerContext<unknown>) => unknown)(call.input, ctx);
  };
  const outcome = (error: unknown): string => (error instanceof RpcError ? error.code : RpcErrorCode.INTERNAL);

  const wrapped: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(contract.methods)) {
    wrapped[name] = isStreamMethod(schema)
      ? async function* (input: unknown, ctx: HandlerContext<unknown>) {
        const call = record(name, input, ctx);
        try {
          yield* (await run(call, ctx)) as AsyncIterable<unknown>;
          call.outcome = "ok";
        } catch (error) {
          call.outcome = outcome(error);
          throw error;
        } finally {
          // The worker stops a stream it no longer needs (the caller cancelled) with return().
          call.outcome ??= RpcErrorCode.CANCELLED;
        }
      }
      : async (input: unknown, ctx: HandlerContext<unknown>) => {
        const call = record(name, input, ctx);
        try {
          const value = await run(call, ctx);
          call.outcome = "ok";
          return value;
        } catch (error) {
          call.outcome = outcome(error);
          throw error;
        }
      };
  }

  const worker = await serve(target.endpoint, contract, wrapped as Handlers<C>, {
    ...options,
    ...(target.transport ? { transport: target.transport } : {}),
  });
  const mock: MockService<C> = {
    worker,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method) as MockCall<never>[],
    set: (method, handler) => void fixed.set(method, handler as MockHandler<MethodSchema>),
    next: (method, handler) => {
      const list = queued.get(method) ?? [];
      list.push(handler as MockHandler<MethodSchema>);
      queued.set(method, list);
    },
    waitForCalls: (count, { method, timeoutMs = 5000 } = {}) => {
      const matching = () => (method === undefined ? calls : calls.filter((c) => c.method === method));
      if (matching().length >= count) return Promise.resolve(matching());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new RpcError(RpcErrorCode.DEADLINE_EXCEEDED, `${contract.name}: ${matching().length} of ${count} calls after ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (matching().length < count) return;
          clearTimeout(timer);
          watchers.delete(check);
          resolve(matching());
        };
        watchers.add(check);
      });
    },
    reset: () => void calls.splice(0),
    close: () => worker.close(),
  };
  target.own?.(mock);
  return mock;
}

/** Waits `ms`; rejects with the signal's reason (an RpcError) as soon as the call is aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

