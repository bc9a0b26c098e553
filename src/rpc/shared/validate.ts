import type { TSchema } from "typebox";
import { Compile, type Validator } from "typebox/compile";
import { RpcValidationError, type RpcValidationIssue } from "../errors.ts";
import { issuesFrom } from "./issue-text.ts";

// Compiling is far costlier than checking, and contracts are long-lived: one validator per schema object.
const cache = new WeakMap<TSchema, Validator>();

function validatorFor(schema: TSchema): Validator {
  let validator = cache.get(schema);
  if (validator === undefined) {
    validator = Compile(safeIntegers(schema) as TSchema) as unknown as Validator;
    cache.set(schema, validator);
  }
  return validator;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * `schema` with every integer type bounded to the safe range (±(2^53 − 1)), or `schema` itself
 * when it has no integer type. Beyond that range a JavaScript number is no longer an exact
 * integer: 2^63 + 1 arrives as 9223372036854775808, so such a value is refused rather than
 * passed on changed. Copies keep TypeBox's own (non-enumerable) properties.
 */
export function safeIntegers(schema: unknown, depth = 0): unknown {
  if (typeof schema !== "object" || schema === null || depth > 64) return schema;
  let copy: Record<string | symbol, unknown> | unknown[] | undefined;
  const source = schema as Record<string | symbol, unknown>;
  for (const key of Reflect.ownKeys(source)) {
    const value = source[key];
    const bounded = safeIntegers(value, depth + 1);
    if (bounded === value) continue;
    copy ??= clone(source);
    (copy as Record<string | symbol, unknown>)[key] = bounded;
  }
  const type = source["type"];
  if (type === "integer" || (Array.isArray(type) && type.includes("integer"))) {
    const min = source["minimum"];
    const max = source["maximum"];
    if (!(typeof min === "number" && min >= -MAX_SAFE) || !(typeof max === "number" && max <= MAX_SAFE)) {
      copy ??= clone(source);
      const target = copy as Record<string, unknown>;
      target["minimum"] = typeof min === "number" ? Math.max(min, -MAX_SAFE) : -MAX_SAFE;
      target["maximum"] = typeof max === "number" ? Math.min(max, MAX_SAFE) : MAX_SAFE;
    }
  }
  return copy ?? schema;
}

function clone(source: object): Record<string | symbol, unknown> | unknown[] {
  if (Array.isArray(source)) return [...source];
  return Object.create(Object.getPrototypeOf(source), Object.getOwnPropertyDescriptors(source));
}

/** Caps the issues reported for one value, so a huge bad array cannot make a huge error. */
const MAX_ISSUES = 20;

/**
 * Lists the schema violations of `value` (empty when it is valid), with JSON pointer paths.
 *
 * @example
 * ```ts
 * issuesOf(Type.Object({ n: Type.Number() }), { n: "x" }); // [{ path: "/n", message: "must be number" }]
 * ```
 */
export function issuesOf(schema: TSchema, value: unknown): RpcValidationIssue[] {
  const validator = validatorFor(schema);
  if (validator.Check(value)) return [];
  const issues = issuesFrom(validator.Errors(value), schema, MAX_ISSUES);
  // Check and Errors disagree only if a refinement is impure; still report something.
  return issues.length > 0 ? issues : [{ path: "", message: "invalid value" }];
}

/**
 * The compiled validator of `schema` (compiled once, cached), for hot paths that check many
 * values against one schema: `Check` is all they run when the value is valid.
 *
 * @example
 * ```ts
 * const input = compiled(method.input);
 * if (!input.Check(value)) throw invalid(method.input, value, "input", "qwen3vl.infer");
 * ```
 */
export function compiled(schema: TSchema): Validator {
  return validatorFor(schema);
}

/**
 * The {@link RpcValidationError} for a value that failed its check (issues are computed only now).
 *
 * @example
 * ```ts
 * if (!validator.Check(value)) throw invalid(schema, value, "output", "qwen3vl.infer");
 * ```
 */
export function invalid(schema: TSchema, value: unknown, role: string, context?: string): RpcValidationError {
  return new RpcValidationError(role, issuesOf(schema, value), context);
}

/**
 * Throws {@link RpcValidationError} unless `value` matches `schema`. Validators are compiled
 * once per schema (TypeBox `Compile`) and cached.
 *
 * @example
 * ```ts
 * assertValid(method.input, input, "input", "qwen3vl.infer");
 * ```
 */
export function assertValid(schema: TSchema, value: unknown, role: string, context?: string): void {
  if (validatorFor(schema).Check(value)) return;
  throw new RpcValidationError(role, issuesOf(schema, value), context);
}

/**
 * Compiles the validators of every schema now instead of on first use (e.g. at worker start).
 *
 * @example
 * ```ts
 * precompile([qwen3vl.methods.infer.input, qwen3vl.methods.infer.output]);
 * ```
 */
export function precompile(schemas: Iterable<TSchema | undefined>): void {
  for (const schema of schemas) if (schema !== undefined) validatorFor(schema);
}
