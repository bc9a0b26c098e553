import { BYTES_KEYWORD } from "./bytes.ts";
import type { JsonSchemaDocument, ServiceContract } from "./contract-types.ts";
import { CANCEL_STREAM, ENVELOPE_VERSION } from "./wire/envelope.ts";

export type { JsonSchemaDocument } from "./contract-types.ts";

/**
 * Draft used by the exported documents.
 *
 * @example
 * ```ts
 * qwen3vl.toJsonSchema().$schema === JSON_SCHEMA_DIALECT; // true
 * ```
 */
export const JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema";

// TypeBox keeps its own markers (~kind, ~refine, ~optional...) as non-enumerable properties,
// so walking enumerable keys yields plain JSON Schema. Binary fields become an annotated
// schema that says "msgpack bin" in words a tool in any language can read.
function plain(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(plain);
  if (typeof schema !== "object" || schema === null) return schema;
  const source = schema as Record<string, unknown>;
  if (source[BYTES_KEYWORD] === true) {
    const bytes: Record<string, unknown> = {
      [BYTES_KEYWORD]: true,
      description: source["description"] ?? "binary data, carried as a msgpack bin (never base64)",
      contentMediaType: "application/octet-stream",
    };
    if (source["minBytes"] !== undefined) bytes["minBytes"] = source["minBytes"];
    if (source["maxBytes"] !== undefined) bytes["maxBytes"] = source["maxBytes"];
    return bytes;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (typeof value === "function" || value === undefined) continue;
    out[key] = plain(value);
  }
  return out;
}

/**
 * Builds the JSON Schema document of a contract. Each method contributes `$defs` entries
 * `<method>.input`, `<method>.output` (or `<method>.chunk`) and `<method>.progress`; the
 * `x-malamute-rpc` annotation tells how calls travel (service, subjects, envelope version).
 * Usually called as `contract.toJsonSchema()`.
 *
 * @example
 * ```ts
 * const doc = contractJsonSchema(qwen3vl);
 * console.log(JSON.stringify(doc, null, 2));
 * ```
 */
export function contractJsonSchema(contract: ServiceContract): JsonSchemaDocument {
  const defs: Record<string, unknown> = {};
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(contract.methods)) {
    const entry: Record<string, unknown> = { input: { $ref: `#/$defs/${name}.input` } };
    defs[`${name}.input`] = plain(method.input);
    if (method.chunk !== undefined) {
      entry["kind"] = "stream";
      entry["chunk"] = { $ref: `#/$defs/${name}.chunk` };
      defs[`${name}.chunk`] = plain(method.chunk);
    } else {
      entry["kind"] = "unary";
      entry["output"] = { $ref: `#/$defs/${name}.output` };
      defs[`${name}.output`] = plain(method.output);
      if (method.progress !== undefined) {
        entry["progress"] = { $ref: `#/$defs/${name}.progress` };
        defs[`${name}.progress`] = plain(method.progress);
      }
    }
    if (method.timeout !== undefined) entry["timeout"] = method.timeout;
    if (method.description !== undefined) entry["description"] = method.description;
    methods[name] = entry;
  }
  const doc: JsonSchemaDocument = {
    $schema: JSON_SCHEMA_DIALECT,
    $id: `urn:malamute:rpc:${contract.name}`,
    title: contract.name,
  };
  if (contract.description !== undefined) doc["description"] = contract.description;
  doc["x-malamute-rpc"] = {
    service: contract.name,
    envelope: ENVELOPE_VERSION,
    encoding: "msgpack",
    cancelStream: CANCEL_STREAM,
    methods,
  };
  doc["$defs"] = defs;
  return doc;
}
