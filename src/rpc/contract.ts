import { RpcError } from "./errors.ts";
import type { MethodMap, MethodSchema, ServiceContract, StreamMethodSchema } from "./contract-types.ts";
import { contractJsonSchema } from "./json-schema.ts";

export type {
  ChunkOf, InputOf, MethodMap, MethodSchema, OutputOf, ProgressOf, ServiceContract, StreamMethodSchema,
  UnaryMethodSchema,
} from "./contract-types.ts";

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
