import type { Static, TSchema } from "typebox";
import { RpcError } from "./errors.ts";
import { contractJsonSchema, type JsonSchemaDocument } from "./json-schema.ts";

/**
 * A method answered by one output, optionally preceded by progress values.
 *
 * @example
 * ```ts
 * const infer: UnaryMethodSchema = { input: Type.String(), output: Type.String(), progress: Type.Number(), timeout: 5000 };
 * ```
 */
export interface UnaryMethodSchema {
  input: TSchema;
  output: TSchema;
  /** Schema of the values a handler reports with `ctx.progress(value)`. */
  progress?: TSchema;
  chunk?: never;
  /** Default deadline in ms for calls of this method (the client's default otherwise). */
  timeout?: number;
  description?: string;
}

/**
 * A method answered by a stream of chunks (the handler is an async generator).
 *
 * @example
 * ```ts
 * const tokens: StreamMethodSchema = { input: Type.Object({ prompt: Type.String() }), chunk: Type.String() };
 * ```
 */
export interface StreamMethodSchema {
  input: TSchema;
  /** Schema of each streamed chunk. */
  chunk: TSchema;
  output?: never;
  progress?: never;
  /** Default deadline in ms for the whole stream. */
  timeout?: number;
  description?: string;
}

/**
 * Either kind of method.
 *
 * @example
 * ```ts
 * const kind = (m: MethodSchema) => (isStreamMethod(m) ? "stream" : "unary");
 * ```
 */
export type MethodSchema = UnaryMethodSchema | StreamMethodSchema;

/**
 * Method name → method schema.
 *
 * @example
 * ```ts
 * const methods = { ping: { input: Type.Null(), output: Type.Literal("pong") } } satisfies MethodMap;
 * ```
 */
export type MethodMap = { [method: string]: MethodSchema };

/**
 * A service contract: the MLM service name plus its methods. Shared by clients and workers.
 * Build one with {@link defineService}.
 *
 * @example
 * ```ts
 * function describe(contract: ServiceContract) {
 *   return `${contract.name}: ${Object.keys(contract.methods).join(", ")}`;
 * }
 * ```
 */
export interface ServiceContract<Name extends string = string, Methods extends MethodMap = MethodMap> {
  /** The MLM service name the calls are addressed to. */
  readonly name: Name;
  readonly methods: Methods;
  readonly description?: string;
  /** This contract as a JSON Schema (2020-12) document, for other languages and tools. */
  toJsonSchema(): JsonSchemaDocument;
}

/**
 * The input type of a method.
 *
 * @example
 * ```ts
 * type In = InputOf<typeof qwen3vl.methods.infer>; // { prompt: string; image: Uint8Array }
 * ```
 */
export type InputOf<M extends MethodSchema> = Static<M["input"]>;
/**
 * The output type of a unary method (`never` for a streaming one).
 *
 * @example
 * ```ts
 * type Out = OutputOf<typeof qwen3vl.methods.infer>; // { text: string }
 * ```
 */
export type OutputOf<M extends MethodSchema> = M extends { output: infer O extends TSchema } ? Static<O> : never;
/**
 * The progress type of a unary method (`never` when it has none).
 *
 * @example
 * ```ts
 * type P = ProgressOf<typeof qwen3vl.methods.infer>; // { tokens: number }
 * ```
 */
export type ProgressOf<M extends MethodSchema> = M extends { progress: infer P extends TSchema } ? Static<P> : never;
/**
 * The chunk type of a streaming method (`never` for a unary one).
 *
 * @example
 * ```ts
 * type Token = ChunkOf<typeof qwen3vl.methods.tokens>; // string
 * ```
 */
export type ChunkOf<M extends MethodSchema> = M extends { chunk: infer C extends TSchema } ? Static<C> : never;
/**
 * Whether a method streams.
 *
 * @example
 * ```ts
 * isStreamMethod(qwen3vl.methods.tokens); // true
 * ```
 */
export function isStreamMethod(method: MethodSchema): method is StreamMethodSchema {
  return (method as StreamMethodSchema).chunk !== undefined;
}

/**
 * A bad contract definition (name, method name or method shape). Code `RPC_BAD_CONTRACT`.
 *
 * @example
 * ```ts
 * try { defineService("bad name", {}); } catch (e) { console.log(e instanceof RpcContractError); } // true
 * ```
 */
export class RpcContractError extends RpcError {
  constructor(message: string) {
    super("RPC_BAD_CONTRACT", message);
  }
}

// MLM strings are 1-byte-length "short strings"; names are also used in generated addresses.
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,99}$/;

/**
 * Defines a service contract. Types of inputs, outputs, progress values and chunks are
 * inferred from the TypeBox schemas, for the client proxy and for handlers alike.
 *
 * @example
 * ```ts
 * import Type from "typebox";
 * import { Bytes, defineService } from "malamute";
 *
 * export const qwen3vl = defineService("qwen3vl", {
 *   infer: {
 *     input: Type.Object({ prompt: Type.String(), image: Bytes() }),
 *     output: Type.Object({ text: Type.String() }),
 *     progress: Type.Object({ tokens: Type.Integer() }),
 *     timeout: 60_000,
 *   },
 *   tokens: { input: Type.Object({ prompt: Type.String() }), chunk: Type.String() },
 * });
 * ```
 */
export function defineService<const Name extends string, const Methods extends MethodMap>(
  name: Name,
  methods: Methods,
  options: { description?: string } = {},
): ServiceContract<Name, Methods> {
  if (!NAME.test(name)) throw new RpcContractError(`invalid service name ${JSON.stringify(name)}`);
  for (const [method, schema] of Object.entries(methods)) {
    if (!NAME.test(method)) throw new RpcContractError(`${name}: invalid method name ${JSON.stringify(method)}`);
    const m = schema as unknown as { input?: unknown; output?: unknown; chunk?: unknown; progress?: unknown; timeout?: number } | null;
    if (typeof m !== "object" || m === null || typeof m.input !== "object") {
      throw new RpcContractError(`${name}.${method}: needs an input schema`);
    }
    const unary = m.output !== undefined;
    const stream = m.chunk !== undefined;
    if (unary === stream) throw new RpcContractError(`${name}.${method}: needs exactly one of output or chunk`);
    if (stream && m.progress !== undefined) throw new RpcContractError(`${name}.${method}: progress is for unary methods`);
    if (m.timeout !== undefined && !(Number.isFinite(m.timeout) && m.timeout > 0)) {
      throw new RpcContractError(`${name}.${method}: timeout must be a positive number of ms`);
    }
  }
  const contract: ServiceContract<Name, Methods> = {
    name,
    methods,
    toJsonSchema: () => contractJsonSchema(contract),
  };
  if (options.description !== undefined) (contract as { description?: string }).description = options.description;
  return Object.freeze(contract);
}
