import type { TSchema } from "typebox";
import { Bytes, BYTES_KEYWORD } from "./bytes.ts";
import { defineService, RpcContractError, type MethodMap, type ServiceContract } from "./contract.ts";
import type { JsonSchemaDocument } from "./json-schema.ts";

/** Deepest nesting read from a document: a hostile file cannot exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * Rebuilds a service contract from the JSON Schema document that {@link contractJsonSchema}
 * (or `contract.toJsonSchema()`) exports, so tools without a TypeScript loader (the CLI on
 * plain Node, `malamute call --contract echo.schema.json`) validate calls as the TypeScript
 * contract does. Binary fields (`x-malamute-bytes`) become {@link Bytes} again; the rest is
 * used as plain JSON Schema. A malformed document throws {@link RpcContractError}.
 *
 * @example
 * ```ts
 * const doc = JSON.parse(await readFile("echo.schema.json", "utf8"));
 * const echo = contractFromJsonSchema(doc);
 * const client = await connect("tcp://127.0.0.1:9999", { echo });
 * ```
 */
export function contractFromJsonSchema(doc: JsonSchemaDocument): ServiceContract {
  const rpc = record(doc["x-malamute-rpc"], "x-malamute-rpc");
  const service = rpc["service"];
  if (typeof service !== "string") throw new RpcContractError("x-malamute-rpc.service must be a string");
  const defs = doc["$defs"] === undefined ? {} : record(doc["$defs"], "$defs");
  const methods: MethodMap = {};
  for (const [name, value] of Object.entries(record(rpc["methods"], "x-malamute-rpc.methods"))) {
    const entry = record(value, `method ${name}`);
    const part = (key: string): TSchema | undefined =>
      entry[key] === undefined ? undefined : revive(deref(entry[key], defs, `${name}.${key}`), 0) as TSchema;
    const method: Record<string, unknown> = { input: part("input") };
    if (entry["kind"] === "stream") method["chunk"] = part("chunk");
    else {
      method["output"] = part("output");
      if (entry["progress"] !== undefined) method["progress"] = part("progress");
    }
    if (entry["timeout"] !== undefined) method["timeout"] = entry["timeout"];
    if (typeof entry["description"] === "string") method["description"] = entry["description"];
    methods[name] = method as unknown as MethodMap[string];
  }
  const description = doc["description"];
  return defineService(service, methods, typeof description === "string" ? { description } : {});
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RpcContractError(`not a malamute contract document: ${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

/** Resolves the document-level `{ $ref: "#/$defs/<name>" }` that each method part is. */
function deref(value: unknown, defs: Record<string, unknown>, what: string): unknown {
  const ref = record(value, what)["$ref"];
  if (typeof ref !== "string") return value;
  const prefix = "#/$defs/";
  const target = ref.startsWith(prefix) ? defs[ref.slice(prefix.length)] : undefined;
  if (target === undefined) throw new RpcContractError(`${what}: unresolved $ref ${JSON.stringify(ref)}`);
  return target;
}

/** Copies a schema, turning every `x-malamute-bytes` annotation back into a Bytes() schema. */
function revive(schema: unknown, depth: number): unknown {
  if (typeof schema !== "object" || schema === null) return schema;
  if (depth > MAX_DEPTH) throw new RpcContractError(`schema nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(schema)) return schema.map((item) => revive(item, depth + 1));
  const source = schema as Record<string, unknown>;
  if (source[BYTES_KEYWORD] === true) {
    const num = (key: string) => (typeof source[key] === "number" ? source[key] as number : undefined);
    const options: Parameters<typeof Bytes>[0] = {};
    if (num("minBytes") !== undefined) options.minBytes = num("minBytes");
    if (num("maxBytes") !== undefined) options.maxBytes = num("maxBytes");
    if (typeof source["description"] === "string") options.description = source["description"];
    return Bytes(options);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) out[key] = revive(value, depth + 1);
  return out;
}
