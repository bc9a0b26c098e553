import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CommandTemplate, ForgeError } from "../../src/forge/mod.ts";

const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;

describe("command template", () => {
  it("substitutes nested paths and indexes, one argument each, with no shell interpretation", () => {
    const t = new CommandTemplate(["run.exs", "--a", "{a.b[1].c}", "--p", "{prompt}", "x={n}/{flag}", "{{literal}} }}{{"]);
    const input = { a: { b: [{ c: "no" }, { c: "yes" }] }, prompt: `it's "quoted" $HOME; rm -rf / \`id\``, n: 2.5, flag: false };
    assert.deepEqual(t.fill(input, "/t").argv, ["run.exs", "--a", "yes", "--p", input.prompt, "x=2.5/false", "{literal} }{"]);
  });

  it("writes binary inputs to files (extension from the mime type), once per placeholder", () => {
    const png = Uint8Array.of(1, 2, 3);
    const raw = Uint8Array.of(9);
    const t = new CommandTemplate(["--image", "{images[0]:file}", "--again", "{images[0]:file}", "--raw", "{raw:file}"]);
    const filled = t.fill({ images: [{ data: png, mimeType: "image/png" }], raw }, "/t");
    assert.deepEqual(filled.argv, ["--image", "/t/input-0.png", "--again", "/t/input-0.png", "--raw", "/t/input-1.bin"]);
    assert.deepEqual(filled.inputs, [{ path: "/t/input-0.png", bytes: png }, { path: "/t/input-1.bin", bytes: raw }]);
  });

  it("names output files {out:EXT} and {out.NAME:EXT}", () => {
    const t = new CommandTemplate(["-o", "{out:png}", "--mask={out.mask:bin}"]);
    assert.deepEqual(t.outputs, ["out", "mask"]);
    const filled = t.fill({}, "/t");
    assert.deepEqual(filled.argv, ["-o", "/t/out.png", "--mask=/t/mask.bin"]);
    assert.deepEqual([...filled.outputs], [["out", "/t/out.png"], ["mask", "/t/mask.bin"]]);
  });

  it("passes values as JSON with :json, and refuses bytes there", () => {
    const t = new CommandTemplate(["{prompts:json}"]);
    assert.deepEqual(t.fill({ prompts: [{ type: "text", text: "kite" }] }, "/t").argv, ['[{"type":"text","text":"kite"}]']);
    assert.throws(() => t.fill({ prompts: [{ data: Uint8Array.of(1) }] }, "/t"), code("RPC_VALIDATION"));
  });

  it("drops an optional group whose value is missing, and refuses a missing value outside a group", () => {
    const t = new CommandTemplate(["--prompt", "{prompt}", ["--system", "{system}"], ["--seed", "{seed}"]]);
    assert.deepEqual(t.fill({ prompt: "hi", seed: 0 }, "/t").argv, ["--prompt", "hi", "--seed", "0"]);
    assert.throws(() => t.fill({ system: "s" }, "/t"), code("RPC_VALIDATION"));
  });

  it("refuses values of the wrong kind with RPC_VALIDATION", () => {
    assert.throws(() => new CommandTemplate(["{data}"]).fill({ data: Uint8Array.of(1) }, "/t"), code("RPC_VALIDATION"));
    assert.throws(() => new CommandTemplate(["{obj}"]).fill({ obj: { a: 1 } }, "/t"), code("RPC_VALIDATION"));
    assert.throws(() => new CommandTemplate(["{text:file}"]).fill({ text: "not bytes" }, "/t"), code("RPC_VALIDATION"));
    assert.throws(() => new CommandTemplate(["{a[0]}"]).fill({ a: { 0: "x" } }, "/t"), code("RPC_VALIDATION"));
  });

  it("rejects malformed templates when constructed", () => {
    for (const bad of ["{unclosed", "stray}", "{a:shell}", "{out}", "{out.a.b:png}", "{out:p/ng}", "{1abc}", "{a..b}", "{}"]) {
      assert.throws(() => new CommandTemplate([bad]), code("RPC_VALIDATION"), bad);
    }
  });
});
