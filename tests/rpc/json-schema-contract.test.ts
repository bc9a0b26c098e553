// A contract rebuilt from its exported JSON Schema document validates like the TypeScript one
// (issue 20 item 3: `malamute call --contract x.schema.json` on plain Node).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contractFromJsonSchema } from "../../src/rpc/json-schema-contract.ts";
import { RpcContractError, isStreamMethod } from "../../src/rpc/contract.ts";
import { issuesOf } from "../../src/rpc/shared/validate.ts";
import { echo } from "../cli/fixtures/echo-contract.ts";

const doc = JSON.parse(JSON.stringify(echo.toJsonSchema())) as Record<string, unknown>;

describe("contractFromJsonSchema", () => {
  it("round-trips: the rebuilt contract exports the same document", () => {
    const rebuilt = contractFromJsonSchema(doc);
    assert.equal(rebuilt.name, "cli-echo");
    assert.deepEqual(JSON.parse(JSON.stringify(rebuilt.toJsonSchema())), doc);
    assert.ok(isStreamMethod(rebuilt.methods["words"]!));
    assert.ok(!isStreamMethod(rebuilt.methods["say"]!));
  });

  it("validates inputs, outputs and binary fields as the TypeScript contract does", () => {
    const { methods } = contractFromJsonSchema(doc);
    assert.deepEqual(issuesOf(methods["say"]!.input, { text: "hi" }), []);
    assert.equal(issuesOf(methods["say"]!.input, { text: 5 })[0]?.path, "/text");
    assert.deepEqual(issuesOf(methods["sum"]!.input, { data: new Uint8Array([1]) }), []);
    assert.equal(issuesOf(methods["sum"]!.input, { data: "AQID" })[0]?.path, "/data");
    assert.equal(issuesOf(methods["blob"]!.input, { size: 100001 })[0]?.path, "/size");
  });

  it("refuses a document that is not a contract with RpcContractError", () => {
    for (const bad of [{}, { "x-malamute-rpc": { service: 5 } }, { "x-malamute-rpc": { service: "a", methods: { m: { kind: "unary", input: { $ref: "#/$defs/nope" } } } } }]) {
      assert.throws(() => contractFromJsonSchema(bad), RpcContractError);
    }
  });

  it("reads schemas nested 64 levels deep and refuses 65", () => {
    const nested = (levels: number) => {
      let deep: Record<string, unknown> = { type: "string" };
      for (let i = 0; i < levels; i++) deep = { type: "array", items: deep };
      return { "x-malamute-rpc": { service: "a", methods: { m: { kind: "unary", input: deep, output: {} } } } };
    };
    assert.doesNotThrow(() => contractFromJsonSchema(nested(64)));
    assert.throws(() => contractFromJsonSchema(nested(65)), /deeper than 64/);
  });
});
