// The vocabulary of a contract (method schemas, the contract's shape, the types they infer),
// apart from defineService: the JSON Schema exporter needs the shape, and defineService needs
// the exporter, so both depend on this file and not on each other.
import type { Static, TSchema } from "typebox";

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
 * A JSON Schema document: plain JSON, safe to `JSON.stringify`.
 *
 * @example
 * ```ts
 * const doc: JsonSchemaDocument = qwen3vl.toJsonSchema();
 * await Deno.writeTextFile("qwen3vl.schema.json", JSON.stringify(doc, null, 2));
 * ```
 */
export type JsonSchemaDocument = { [key: string]: unknown };
