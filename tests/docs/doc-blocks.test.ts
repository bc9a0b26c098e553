// Every TypeScript block of README.md and docs/*.md type-checks as written (issue 20 item 14).
// One tsc run covers the real docs and a planted broken doc, so the same run proves that the
// check finds an undefined name, a source-path import and a type error at their Markdown lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkDocBlocks, classifyBlock, extractBlocks, repoDocs } from "../../scripts/doc-blocks.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const PLANTED = [
  "# planted",                                          // 1
  "",                                                   // 2
  "```ts",                                              // 3
  'import { MlmClient } from "malamute";',              // 4
  "const client = await MlmClient.connect(endpoint);", // 5: endpoint is undefined
  "```",                                                // 6
  "",                                                   // 7
  "```ts",                                              // 8
  'import { startBroker } from "./src/broker/server.ts";', // 9: not the package's specifier
  "```",                                                // 10
  "",                                                   // 11
  "```ts outline",                                      // 12: not checked
  "{ clients: number, clientList: { conn }[] }",        // 13
  "```",                                                // 14
  "",                                                   // 15
  "```ts file=contract.ts",                             // 16
  "export const port: number = 9999;",                 // 17
  "```",                                                // 18
  "",                                                   // 19
  "```ts",                                              // 20
  'import { port } from "./contract.ts";',              // 21
  "const s: string = port;",                            // 22: type error
  "```",                                                // 23
  "",                                                   // 24
  "```ts outlin",                                       // 25: a typo must not skip the block
  "nonsense(",                                          // 26
  "```",                                                // 27
  "",
].join("\n");

describe("doc blocks", () => {
  it("classifies info strings: ts is checked, outline is not, anything else after ts is refused", () => {
    assert.deepEqual(classifyBlock("ts"), { kind: "check" });
    assert.deepEqual(classifyBlock("typescript"), { kind: "check" });
    assert.deepEqual(classifyBlock("ts outline"), { kind: "outline" });
    assert.deepEqual(classifyBlock("ts file=contracts.ts"), { kind: "check", file: "contracts.ts" });
    assert.equal(classifyBlock("ts file=../x.ts").kind, "invalid");
    assert.equal(classifyBlock("ts outlin").kind, "invalid");
    assert.deepEqual(classifyBlock("sh"), { kind: "other" });
    assert.deepEqual(classifyBlock(""), { kind: "other" });
  });

  it("extracts fenced blocks with the Markdown line of their first code line", () => {
    const blocks = extractBlocks("x.md", "a\n````ts\n```\nnested\n````\n~~~sh\nls\n~~~\n```\n```\n");
    assert.deepEqual(blocks, [
      { doc: "x.md", line: 3, info: "ts", code: "```\nnested\n" },
      { doc: "x.md", line: 7, info: "sh", code: "ls\n" },
      { doc: "x.md", line: 10, info: "", code: "" },
    ]);
  });

  it("finds the TypeScript blocks of the docs (README, rpc.md, client.md, …)", () => {
    const docs = repoDocs(root);
    const checked = docs.flatMap((d) => extractBlocks(d.path, d.text)).filter((b) => classifyBlock(b.info).kind === "check");
    for (const doc of ["README.md", "docs/rpc.md", "docs/client.md", "docs/broker.md", "docs/forge.md", "docs/patterns.md"]) {
      assert.ok(checked.some((b) => b.doc === doc), `no checked ts block found in ${doc}`);
    }
  });

  it("every ts block of README.md and docs/*.md type-checks; a broken block fails at its line", { timeout: 180_000 }, async () => {
    const problems = await checkDocBlocks(root, [...repoDocs(root), { path: "planted/broken.md", text: PLANTED }]);
    const real = problems.filter((p) => p.doc !== "planted/broken.md");
    assert.deepEqual(real.map((p) => `${p.doc}:${p.line}: ${p.message}`), []);
    const planted = problems.filter((p) => p.doc === "planted/broken.md").map((p) => `${p.line} ${p.message}`);
    assert.equal(planted.length, 4, planted.join("\n"));
    assert.match(planted[0]!, /^25 unknown info string "ts outlin"/);
    const rest = planted.slice(1).sort();
    assert.match(rest[0]!, /^22 error TS2322:/);
    assert.match(rest[1]!, /^5 error TS2304: Cannot find name 'endpoint'/);
    assert.match(rest[2]!, /^9 error TS2307: Cannot find module '\.\/src\/broker\/server\.ts'/);
  });
});
