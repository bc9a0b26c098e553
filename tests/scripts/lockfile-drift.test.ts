// CI fails when `npm install` would rewrite package-lock.json (issue 20 item 4).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diffLocks, lockfileDrift } from "../../scripts/lockfile-drift.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("lockfile drift", () => {
  it("names the entries that differ", () => {
    const before = { lockfileVersion: 3, packages: { "": { name: "x" }, "node_modules/a": { version: "1.0.0" } } };
    const after = { lockfileVersion: 3, packages: { "": { name: "x", bin: { x: "b.js" } }, "node_modules/a": { version: "1.0.0" } } };
    assert.deepEqual(diffLocks(before, after), ['packages[""]']);
    assert.deepEqual(diffLocks(before, before), []);
  });

  it("the committed lockfile is what npm install writes", () => {
    assert.deepEqual(lockfileDrift(root), []);
  });

  it("finds a lockfile that lacks the bin entry stale", () => {
    const dir = mkdtempSync(join(tmpdir(), "malamute-lock-test-"));
    try {
      copyFileSync(join(root, "package.json"), join(dir, "package.json"));
      const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
      delete lock.packages[""].bin;
      writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock, null, 2) + "\n");
      assert.deepEqual(lockfileDrift(dir), ['packages[""]']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
