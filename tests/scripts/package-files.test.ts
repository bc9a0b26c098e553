// The package check (scripts/check-package.ts) must refuse a tarball packed without its build,
// and the manifest must build on `npm pack`/`npm publish` (issue 20 item 1).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { entryFiles, missingEntryFiles, type Manifest } from "../../scripts/package-files.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest & {
  scripts: Record<string, string>;
};

describe("package entry files", () => {
  it("lists main, types, bin and every exports target", () => {
    const files = entryFiles(manifest);
    for (const f of ["dist/mod.js", "dist/mod.d.ts", "dist/src/cli/bin.js", "dist/src/forge/mod.js", "package.json"]) {
      assert.ok(files.includes(f), `${f} missing from ${files.join(", ")}`);
    }
  });

  it("finds a package without dist/ incomplete", () => {
    const packed = ["package/package.json", "package/mod.ts", "package/src/cli/bin.ts", "package/README.md"];
    const missing = missingEntryFiles(manifest, packed);
    assert.ok(missing.includes("dist/mod.js"));
    assert.ok(missing.includes("dist/src/cli/bin.js"));
    assert.ok(!missing.includes("package.json"));
  });

  it("finds a package with its build complete", () => {
    const packed = ["package/package.json", ...entryFiles(manifest).map((f) => "package/" + f)];
    assert.deepEqual(missingEntryFiles(manifest, packed), []);
  });

  it("builds on npm pack and npm publish (prepack runs the build)", () => {
    assert.match(manifest.scripts.prepack ?? "", /\bnpm run build\b/);
  });
});
