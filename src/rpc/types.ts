import type {
  ChunkOf, InputOf, MethodMap, MethodSchema, OutputOf, ProgressOf, ServiceContract, StreamMethodSchema,
} from "./contract.ts";

/**
 * Per-call options of a unary method. `P` is the method's progress type (`never` when it has none).
 *
 * @example
 * ```ts
 * await client.qwen3vl.infer(input, {
 *   timeout: 30_000,
 *   signal: AbortSignal.timeout(60_000),
 *   onProgress: (p) => console.log(p.tokens),
 * });
 * ```
 */
export interface CallOptions<P = never> {
  /** Deadline relative to now, ms. Default: the method's `timeout`, else the client's `defaultTimeout`. */
  timeout?: number;
  /** Absolute deadline (ms since the Unix epoch); wins over `timeout` when earlier. */
  deadline?: number;
  /** Aborting it rejects the call with RpcCancelledError and aborts the handler's `ctx.signal`. */
  signal?: AbortSignal;
  /** Called with each progress value, in order, before the promise settles. */
  onProgress?: [P] extends [never] ? undefined : (value: P) => void;
  /** String metadata for the handler (`ctx.meta`), e.g. a W3C `traceparent`. */
  meta?: Record<string, string>;
}

/**
 * Per-call options of a streaming method.
 *
 * @example
 * ```ts
 * for await (const token of client.llm.tokens({ prompt }, { timeout: 120_000 })) process.stdout.write(token);
 * ```
 */
export type StreamCallOptions = Omit<CallOptions, "onProgress">;

/**
 * The chunks of a streaming call. Iterate it once; leaving the loop early (break, throw)
 * cancels the call on the worker.
 *
 * @example
 * ```ts
 * const stream = client.llm.tokens({ prompt: "hi" });
 * for await (const token of stream) console.log(token);
 * ```
 */
export interface RpcStream<T> extends AsyncIterable<T> {
  /** The call id (the MLM tracker). */
  readonly callId: string;
  /** Cancel the call; a pending iteration ends with RpcCancelledError. */
  cancel(reason?: unknown): void;
}

/**
 * The client-side function of one method.
 *
 * @example
 * ```ts
 * const infer: ClientMethod<typeof qwen3vl.methods.infer> = client.qwen3vl.infer;
 * ```
 */
export type ClientMethod<M extends MethodSchema> = M extends StreamMethodSchema
  ? (input: InputOf<M>, options?: StreamCallOptions) => RpcStream<ChunkOf<M>>
  : (input: InputOf<M>, options?: CallOptions<ProgressOf<M>>) => Promise<OutputOf<M>>;

/**
 * The typed proxy of one service: one function per method.
 *
 * @example
 * ```ts
 * async function caption(svc: ServiceClient<typeof qwen3vl>, image: Uint8Array) {
 *   return (await svc.infer({ prompt: "Describe", image })).text;
 * }
 * ```
 */
export type ServiceClient<C extends ServiceContract> = {
  readonly [K in keyof C["methods"] & string]: ClientMethod<C["methods"][K]>;
};

/**
 * What a client was connected with: property name → contract.
 *
 * @example
 * ```ts
 * const services = { qwen3vl, zimage } satisfies ContractMap;
 * ```
 */
export type ContractMap = { [key: string]: ServiceContract<string, MethodMap> };

/**
 * What a handler gets besides its input.
 *
 * @example
 * ```ts
 * infer: async (input, ctx) => {
 *   ctx.progress({ tokens: 1 });
 *   if (ctx.signal.aborted) throw ctx.signal.reason;
 *   return { text: `${ctx.deadline - Date.now()} ms left` };
 * }
 * ```
 */
export interface HandlerContext<P = never> {
  /** Aborted when the caller cancels, the deadline passes or the worker closes. `reason` is an RpcError. */
  readonly signal: AbortSignal;
  /** Deadline of the call, ms since the Unix epoch (this worker's clock). */
  readonly deadline: number;
  /** Sends a progress value to the caller (checked against the method's progress schema). */
  progress(value: P): void;
  /** Mailbox address of the caller. */
  readonly caller: string;
  /** Unique id of the call (the MLM tracker); a requeued call keeps its id. */
  readonly callId: string;
  readonly service: string;
  readonly method: string;
  /** Metadata the caller attached (`options.meta`). */
  readonly meta: Readonly<Record<string, string>>;
}

/**
 * The handler of one method: an async function, or an (async) generator for a streaming method.
 *
 * @example
 * ```ts
 * const infer: Handler<typeof qwen3vl.methods.infer> = async ({ prompt }) => ({ text: prompt });
 * ```
 */
export type Handler<M extends MethodSchema> = M extends StreamMethodSchema
  ? (input: InputOf<M>, ctx: HandlerContext) => AsyncIterable<ChunkOf<M>> | Iterable<ChunkOf<M>>
  : (input: InputOf<M>, ctx: HandlerContext<ProgressOf<M>>) => Promise<OutputOf<M>> | OutputOf<M>;

/**
 * One handler per method of a contract.
 *
 * @example
 * ```ts
 * const handlers: Handlers<typeof qwen3vl> = { infer: async () => ({ text: "" }), tokens: async function* () {} };
 * await serve(endpoint, qwen3vl, handlers);
 * ```
 */
export type Handlers<C extends ServiceContract> = {
  readonly [K in keyof C["methods"] & string]: Handler<C["methods"][K]>;
};
