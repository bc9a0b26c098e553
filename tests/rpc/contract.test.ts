import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Type from "typebox";
import { Bytes, BYTES_KEYWORD } from "../../src/rpc/bytes.ts";
import { defineService, isStreamMethod, RpcContractError } from "../../src/rpc/contract.ts";
import { JSON_SCHEMA_DIALECT } from "../../src/rpc/json-schema.ts";
import { qwen3vl, zimage } from "./contracts.ts";

describe("rpc contracts", () => {
  it("keeps the service name and methods", () => {
    assert.equal(qwen3vl.name, "qwen3vl");
    assert.deepEqual(Object.keys(qwen3vl.methods), ["infer", "tokens"]);
    assert.equal(isStreamMethod(qwen3vl.methods.tokens), true);
    assert.equal(isStreamMethod(qwen3vl.methods.infer), false);
  });

  it("rejects invalid service and method names", () => {
    const ok = { input: Type.Object({}), output: Type.Object({}) };
    assert.throws(() => defineService("", { m: ok }), RpcContractError);
    assert.throws(() => defineService("has space", { m: ok }), RpcContractError);
    assert.throws(() => defineService("s", { "bad/name": ok }), RpcContractError);
    assert.throws(() => defineService("x".repeat(101), { m: ok }), RpcContractError);
  });

  it("rejects a method with both output and chunk, or neither", () => {
    const input = Type.Object({});
    assert.throws(() => defineService("s", { m: { input, output: input, chunk: input } as never }), /exactly one of output or chunk/);
    assert.throws(() => defineService("s", { m: { input } as never }), /exactly one of output or chunk/);
  });

  it("rejects progress on a streaming method and a bad timeout", () => {
    const input = Type.Object({});
    assert.throws(() => defineService("s", { m: { input, chunk: input, progress: input } as never }), /progress is for unary/);
    assert.throws(() => defineService("s", { m: { input, output: input, timeout: 0 } }), /timeout/);
  });

  it("contract errors carry name, code and are RpcErrors", () => {
    try {
      defineService("bad name", {});
      assert.fail("should throw");
    } catch (error) {
      assert.ok(error instanceof RpcContractError);
      assert.equal(error.name, "RpcContractError");
      assert.equal(error.code, "RPC_BAD_CONTRACT");
    }
  });
});

describe("rpc contract JSON Schema export", () => {
  const doc = qwen3vl.toJsonSchema();

  it("is a JSON Schema 2020-12 document named after the service", () => {
    assert.equal(doc["$schema"], JSON_SCHEMA_DIALECT);
    assert.equal(doc["$id"], "urn:malamute:rpc:qwen3vl");
    assert.equal(doc["title"], "qwen3vl");
    assert.equal(doc["description"], "vision-language model");
  });

  it("survives a JSON round trip unchanged (plain JSON, no functions or TypeBox markers)", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
    assert.doesNotMatch(JSON.stringify(doc), /~kind|~refine|~optional/);
  });

  it("has $defs for every method's input, output, progress and chunk", () => {
    const defs = doc["$defs"] as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(defs).sort(), ["infer.input", "infer.output", "infer.progress", "tokens.chunk", "tokens.input"]);
    assert.deepEqual(defs["tokens.chunk"], { type: "string" });
    assert.deepEqual(defs["infer.output"], {
      type: "object",
      required: ["text", "tokens"],
      properties: { text: { type: "string" }, tokens: { type: "integer" } },
    });
  });

  it("describes methods, kinds and defaults in x-malamute-rpc", () => {
    const rpc = doc["x-malamute-rpc"] as Record<string, unknown>;
    assert.equal(rpc["service"], "qwen3vl");
    assert.equal(rpc["envelope"], 2);
    assert.equal(rpc["encoding"], "msgpack");
    const methods = rpc["methods"] as Record<string, Record<string, unknown>>;
    assert.deepEqual(methods["infer"], {
      input: { $ref: "#/$defs/infer.input" },
      kind: "unary",
      output: { $ref: "#/$defs/infer.output" },
      progress: { $ref: "#/$defs/infer.progress" },
      timeout: 20_000,
    });
    assert.equal(methods["tokens"]?.["kind"], "stream");
  });

  it("marks binary fields as msgpack bin with their size limits", () => {
    const defs = zimage.toJsonSchema()["$defs"] as Record<string, { properties: Record<string, Record<string, unknown>> }>;
    const png = defs["render.output"]?.properties["png"];
    assert.equal(png?.[BYTES_KEYWORD], true);
    assert.equal(png?.["contentMediaType"], "application/octet-stream");
    assert.equal(png?.["minBytes"], 1);
    assert.match(String(png?.["description"]), /msgpack bin/);
  });

  it("keeps a custom description of a Bytes field", () => {
    const svc = defineService("s", { m: { input: Type.Object({ a: Bytes({ description: "audio" }) }), output: Type.Null() } });
    const defs = svc.toJsonSchema()["$defs"] as Record<string, { properties: Record<string, Record<string, unknown>> }>;
    assert.equal(defs["m.input"]?.properties["a"]?.["description"], "audio");
  });
});
