import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decode } from "../../src/proto/mod.ts";
import { decodeEnvelope } from "../../src/rpc/wire/envelope.ts";
import { documentBlocks, documentSchemaExample, DOC_PATHS, examples, schemaExample } from "./wire-doc.ts";

/** Bytes of one generated block's frames, read back from the document's hex. */
function framesOf(block: string): Uint8Array[] {
  const frames: number[][] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("frame ")) frames.push([]);
    else if (/^ {2}[0-9a-f]{2}( [0-9a-f]{2})*( {2}|$)/.test(line)) {
      const hex = line.trim().split("  ")[0] as string;
      frames[frames.length - 1]?.push(...hex.split(" ").map((h) => parseInt(h, 16)));
    }
  }
  return frames.map((f) => new Uint8Array(f));
}

describe("docs/rpc-wire.md", () => {
  const doc = DOC_PATHS.map((path) => readFileSync(path, "utf8")).join("\n");
  const inDoc = documentBlocks(doc);
  const generated = examples();

  it("has every generated example", () => {
    assert.deepEqual([...inDoc.keys()].sort(), [...generated.keys()].sort());
  });

  for (const [name, body] of generated) {
    it(`example "${name}" matches the bytes the code produces`, () => {
      assert.equal(inDoc.get(name), body, "regenerate with: npx tsx tests/rpc/wire-doc.ts --write");
    });
  }

  it("the JSON Schema export of section 6 is what contractJsonSchema() produces", () => {
    assert.deepEqual(documentSchemaExample(doc), schemaExample());
  });

  it("the hex in the document decodes as MLM messages whose content is a valid RPC envelope", () => {
    for (const [name, block] of inDoc) {
      const result = decode(framesOf(block));
      assert.ok(result.ok, `${name}: ${result.ok ? "" : result.error.message}`);
      const content = (result.message as { content?: Uint8Array[] }).content;
      if (content !== undefined) assert.doesNotThrow(() => decodeEnvelope(content), name);
    }
  });
});
