import type { Validator } from "typebox/compile";
import type { MethodSchema } from "../contract.ts";
import { type SchemaCodec, schemaCodec } from "../wire/schema-codec.ts";
import { compiled } from "./validate.ts";

/**
 * A method as clients and workers call it: made once (with the proxy, or at worker start) and
 * shared by all its calls, so a call allocates no label and looks up no validator.
 */
export interface MethodInfo {
  service: string;
  method: string;
  schema: MethodSchema;
  /** `service.method`, for error messages. */
  label: string;
  input: Validator;
  output: Validator | undefined;
  progress: Validator | undefined;
  chunk: Validator | undefined;
  /** msgpack codecs compiled from the schemas (undefined: the general codec only). */
  inputCodec: SchemaCodec | undefined;
  outputCodec: SchemaCodec | undefined;
  progressCodec: SchemaCodec | undefined;
  chunkCodec: SchemaCodec | undefined;
}

/**
 * The method info of `schema` on `service`, with its validators compiled.
 *
 * @example
 * ```ts
 * const info = methodInfo("qwen3vl", "infer", qwen3vl.methods.infer);
 * ```
 */
export function methodInfo(service: string, method: string, schema: MethodSchema): MethodInfo {
  const maybe = (s: MethodSchema["output"]): Validator | undefined => (s === undefined ? undefined : compiled(s));
  const codec = (s: MethodSchema["output"]): SchemaCodec | undefined => (s === undefined ? undefined : schemaCodec(s));
  return {
    service,
    method,
    schema,
    label: `${service}.${method}`,
    input: compiled(schema.input),
    output: maybe(schema.output),
    progress: maybe(schema.progress),
    chunk: maybe(schema.chunk),
    inputCodec: codec(schema.input),
    outputCodec: codec(schema.output),
    progressCodec: codec(schema.progress),
    chunkCodec: codec(schema.chunk),
  };
}
