import type { RpcValidationIssue } from "../errors.ts";

/** The part of a TypeBox validation error the issue text is made from. */
export interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: unknown;
  message: string;
}

/** At most this many allowed values are listed in one message; the rest are counted. */
const MAX_LISTED = 10;
/** A listed value longer than this (as JSON) is cut, so a huge literal cannot make a huge error. */
const MAX_VALUE_TEXT = 40;

const MEMBER = /^(.*)\/anyOf\/\d+$/;

/**
 * Issues from TypeBox errors, with the allowed values named: a value outside a literal union
 * gives one `must be one of "fast", "slow"` (read from `schema`, so it stays whole when
 * TypeBox stopped collecting errors early) instead of one `must be equal to constant` per
 * member plus `must match a schema in anyOf`. Stops at `max` issues.
 *
 * @example
 * ```ts
 * issuesFrom(validator.Errors({ mode: "x" }), schema, 20); // [{ path: "/mode", message: 'must be one of "fast", "slow"' }]
 * ```
 */
export function issuesFrom(errors: Iterable<SchemaError>, schema: unknown, max: number): RpcValidationIssue[] {
  const issues: RpcValidationIssue[] = [];
  const folded = new Set<string>();
  for (const error of errors) {
    const unionPath = error.keyword === "anyOf" ? error.schemaPath : MEMBER.exec(error.schemaPath)?.[1];
    const values = unionPath === undefined ? undefined : literalValues(schemaAt(schema, unionPath));
    if (values !== undefined) {
      const key = `${error.instancePath}\0${unionPath}`;
      if (folded.has(key)) continue;
      folded.add(key);
      issues.push({ path: error.instancePath, message: `must be one of ${listValues(values)}` });
    } else {
      issues.push(issueOf(error));
    }
    if (issues.length >= max) break;
  }
  return issues;
}

/** The node a schema path (`#/properties/mode/anyOf/0`) points at, or undefined. */
function schemaAt(schema: unknown, path: string): unknown {
  if (!path.startsWith("#")) return undefined;
  let node = schema;
  for (const raw of path.slice(1).split("/").slice(1)) {
    if (typeof node !== "object" || node === null) return undefined;
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The `const` of every member when `node` is a union of literals only, else undefined. */
function literalValues(node: unknown): unknown[] | undefined {
  const members = (node as { anyOf?: unknown } | undefined)?.anyOf;
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const values: unknown[] = [];
  for (const member of members) {
    if (typeof member !== "object" || member === null || !("const" in member)) return undefined;
    values.push((member as { const: unknown }).const);
  }
  return values;
}

function issueOf(error: SchemaError): RpcValidationIssue {
  const params = error.params as { allowedValue?: unknown; allowedValues?: unknown } | undefined;
  if (error.keyword === "const") return { path: error.instancePath, message: `must be ${showValue(params?.allowedValue)}` };
  if (error.keyword === "enum" && Array.isArray(params?.allowedValues)) {
    return { path: error.instancePath, message: `must be one of ${listValues(params.allowedValues)}` };
  }
  return { path: error.instancePath, message: error.message };
}

function listValues(values: readonly unknown[]): string {
  const shown = values.slice(0, MAX_LISTED).map(showValue).join(", ");
  return values.length > MAX_LISTED ? `${shown} (+${values.length - MAX_LISTED} more values)` : shown;
}

function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "bigint" ? `${value}n` : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE_TEXT ? `${text.slice(0, MAX_VALUE_TEXT)}…` : text;
}
