// A Deno user can `deno run` a file that imports mod.ts from a checkout with nothing but the
// checkout's deno.json: its "imports" map every bare specifier of src/ to an npm: specifier
// (issue 20 item 2). The copy has no node_modules and no package.json, so nothing but deno.json
// can resolve msgpackr, typebox and commander.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const deno = join(root, "node_modules", ".bin", "deno");

function bareSpecifiers(dir: string, out = new Set<string>()): Set<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) bareSpecifiers(path, out);
    else if (name.endsWith(".ts")) {
      // Only real import statements (line-initial), not @example blocks in JSDoc.
      const re = /^(?:import|export)\s[^"';]*?from\s*["']([^"'.][^"']*)["']/gm;
      for (const m of readFileSync(path, "utf8").matchAll(re)) out.add(m[1]!);
    }
  }
  return out;
}

describe("Deno from a checkout", () => {
  it("deno.json maps every bare import of src/ and mod.ts", () => {
    const imports = (JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { imports?: Record<string, string> }).imports ?? {};
    for (const spec of bareSpecifiers(join(root, "src"))) {
      if (spec.startsWith("node:")) continue;
      const [scope, name] = spec.split("/");
      const pkg = spec.startsWith("@") ? `${scope}/${name}` : scope!;
      const mapped = spec === pkg ? imports[pkg] : imports[pkg + "/"];
      assert.ok(mapped?.startsWith("npm:"), `deno.json "imports" lacks ${spec === pkg ? pkg : pkg + "/"} (imported as ${spec})`);
    }
  });

  it("deno run --config <checkout>/deno.json runs a file importing mod.ts and the CLI", { timeout: 90_000 }, async () => {
    const scratch = mkdtempSync(join(tmpdir(), "malamute-deno-"));
    try {
      const checkout = join(scratch, "malamute");
      for (const name of ["mod.ts", "src", "deno.json"]) cpSync(join(root, name), join(checkout, name), { recursive: true });
      const app = join(scratch, "app");
      mkdirSync(app);
      writeFileSync(join(app, "main.ts"), [
        `import { MlmClient, startBroker, inproc } from "../malamute/mod.ts";`,
        `import { main } from "../malamute/src/cli/main.ts";`,
        `console.log([MlmClient, startBroker, inproc, main].map((x) => typeof x).join(" "));`,
      ].join("\n"));
      const out = await new Promise<string>((done, fail) => {
        execFile(deno, ["run", "-A", "--node-modules-dir=none", "--config", join(checkout, "deno.json"), "main.ts"],
          { cwd: app, encoding: "utf8", timeout: 80_000 },
          (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : done(stdout)));
      });
      assert.equal(out.trim(), "function function object function");
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
