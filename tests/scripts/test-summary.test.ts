// scripts/test-summary.ts keeps `npm test` short (issue 20 item 16): failures in full, passing noise
// dropped, one summary line per runtime, and a non-zero exit whenever anything failed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lineFilter, parseCounts, runOne, summaryLine, type RunnerKind } from "../../scripts/test-summary.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

const PLANTED = [
  'import { describe, it } from "node:test";',
  'import assert from "node:assert/strict";',
  'describe("planted", () => {',
  '  it("passes", () => { assert.equal(1, 1); });',
  '  it("fails on purpose", () => { assert.equal(1 + 1, 3, "planted failure 7f3a"); });',
  "});",
  "",
].join("\n");

async function runPlanted(kind: RunnerKind, failing: boolean): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "test-summary-"));
  const file = join(dir, "planted.test.mjs");
  writeFileSync(file, failing ? PLANTED : PLANTED.replace(/\n {2}it\("fails on purpose".*\n/, "\n"));
  const commands: Record<RunnerKind, string[]> = {
    node: ["node", "--test", file],
    bun: [bin("bun"), "test", "--only-failures", file],
    deno: [bin("deno"), "test", "-A", "--quiet", "--reporter=dot", file],
    jsr: [],
  };
  let out = "";
  try {
    const code = await runOne(kind, commands[kind], (s) => { out += s; });
    return { code, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("test summary", () => {
  it("drops progress dots, pass lines and empty file headers; keeps failures", () => {
    const deno = lineFilter("deno");
    assert.deepEqual([".", "\u001b[0m\u001b[38;5;245m.\u001b[0m", "!", "", "", "ERRORS", "boom"].flatMap(deno), ["ERRORS", "boom"]);
    const bun = lineFilter("bun");
    const bunOut = ["bun test v1.4.5", "", "tests/a.test.ts:", "(pass) a > b", "", "tests/b.test.ts:", "AssertionError: x", "(fail) b > c", "", " 1 pass", " 1 fail", "Ran 2 tests across 2 files. [1.00s]"];
    assert.deepEqual(bunOut.flatMap(bun), ["tests/b.test.ts:", "AssertionError: x", "(fail) b > c", ""]);
    const node = lineFilter("node");
    assert.deepEqual(["....X...", "Failed tests:", "✖ b (1ms)"].flatMap(node), ["Failed tests:", "✖ b (1ms)"]);
  });

  it("reads the counts of each runner", () => {
    assert.deepEqual(parseCounts("node", "# tests 12\n# suites 3\n# pass 10\n# fail 1\n# cancelled 1\n# skipped 2\n# todo 0\n# duration_ms 2500.5\n"),
      { passed: 10, failed: 2, skipped: 2, seconds: 2.5005 });
    assert.deepEqual(parseCounts("bun", " 10 pass\n 1 skip\n 1 fail\n 20 expect() calls\nRan 12 tests across 3 files. [1.20s]\n"),
      { passed: 10, failed: 1, skipped: 1, seconds: 1.2 });
    assert.deepEqual(parseCounts("deno", "\u001b[0m\u001b[31mFAILED\u001b[0m | 2 passed (10 steps) | 1 failed (1 step) \u001b[0m(274ms)"),
      { passed: 10, failed: 1, skipped: 0, seconds: 0.274 });
    assert.deepEqual(parseCounts("deno", "ok | 3 passed | 0 failed | 2 ignored (2s)"), { passed: 3, failed: 0, skipped: 2, seconds: 2 });
    // A whole suite takes minutes: the format CI printed when this check first failed there.
    assert.deepEqual(
      parseCounts("deno", "\u001b[0m\u001b[32mok\u001b[0m | 296 passed (1866 steps) | 0 failed | 2 ignored (47 steps) \u001b[0m\u001b[38;5;245m(2m17s)\u001b[0m"),
      { passed: 1866, failed: 0, skipped: 47, seconds: 137 },
    );
    assert.equal(parseCounts("node", "no footer"), undefined);
  });

  it("says FAILED on a non-zero exit, on failed counts or on warnings", () => {
    assert.equal(summaryLine("bun", 0, { passed: 3, failed: 0, skipped: 0, seconds: 1 }), "bun: ok, 3 passed, 0 failed, 0 skipped (1.0 s)");
    assert.match(summaryLine("node", 0, { passed: 3, failed: 1, skipped: 0 }), /^node: FAILED \(exit 1\)/);
    assert.match(summaryLine("deno", 2, undefined), /^deno: FAILED \(exit 2\)$/);
    assert.match(summaryLine("jsr", 0, undefined, 1), /^jsr: FAILED \(exit 1\), 1 warning$/);
  });

  for (const kind of ["node", "bun", "deno"] as const) {
    it(`${kind}: a failing test file exits non-zero and prints the failure and the summary`, { timeout: 60_000 }, async () => {
      const { code, out } = await runPlanted(kind, true);
      assert.notEqual(code, 0, out);
      assert.match(out, /planted failure 7f3a/);
      assert.match(out, new RegExp(`^${kind}: FAILED \\(exit \\d+\\), 1 passed, 1 failed, 0 skipped`, "m"));
      assert.ok(out.trimEnd().endsWith("s)"), out);
    });

    it(`${kind}: a passing test file exits 0 with a short output`, { timeout: 60_000 }, async () => {
      const { code, out } = await runPlanted(kind, false);
      assert.equal(code, 0, out);
      assert.match(out, new RegExp(`^${kind}: ok, 1 passed, 0 failed, 0 skipped`, "m"));
      assert.ok(out.trim().split("\n").length <= 2, out);
    });
  }
});
