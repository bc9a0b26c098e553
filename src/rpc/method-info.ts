import type { Validator } from "typebox/compile";
import type { MethodSchema } from "./contract.ts";
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
  return {
    service,
    method,
    schema,
    label: `${service}.${method}`,
    input: compiled(schema.input),
    output: maybe(schema.output),
    progress: maybe(schema.progress),
    chunk: maybe(schema.chunk),
  };
}
