/**
 * Proves the published package works: removes dist/ and packs the tarball (so the build must come
 * from the `prepack` script, as it does on `npm publish` from a fresh clone), checks that every
 * entry point of package.json is in it, installs it into a scratch project, and imports it on
 * Node, Bun and Deno. Exits non-zero on any failure.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { missingEntryFiles } from "./package-files.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const scratch = mkdtempSync(join(tmpdir(), "malamute-pack-"));
try {
  // No build here: a package is only complete if `npm pack` builds it itself (prepack).
  rmSync(join(root, "dist"), { recursive: true, force: true });
  const packed = run("npm", ["pack", "--silent", "--pack-destination", scratch], root).trim().split("\n").pop()!;
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const listed = run("tar", ["-tzf", packed], scratch).split("\n").filter(Boolean);
  const missing = missingEntryFiles(manifest, listed);
  if (missing.length > 0) throw new Error(`${packed} lacks its build: ${missing.join(", ")} (does "prepack" run the build?)`);
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  run("npm", ["install", "--silent", "--no-audit", "--no-fund", "--omit=optional", "--prefer-offline", join(scratch, packed)], scratch);
  // Every public entry point must load and expose its key exports.
  writeFileSync(join(scratch, "check.mjs"), `
    const root = await import("malamute");
    for (const name of ["MalamuteError", "inproc", "zmtp", "startBroker", "MlmClient", "defineService", "connect", "serve"]) {
      if (!(name in root)) throw new Error("malamute lacks export " + name);
    }
    const forge = await import("malamute/forge");
    if (!("qwen3vl" in forge)) throw new Error("malamute/forge lacks qwen3vl");
    const cli = await import("malamute/cli");
    if (typeof cli.main !== "function") throw new Error("malamute/cli lacks main");
    const http = await import("malamute/http");
    if (typeof http.startBrokerHttp !== "function") throw new Error("malamute/http lacks startBrokerHttp");
    const testing = await import("malamute/testing");
    if (typeof testing.testBroker !== "function") throw new Error("malamute/testing lacks testBroker");
    console.log("ok " + Object.keys(root).length + " root exports, " + Object.keys(forge).length + " forge exports");
  `);
  const results: string[] = [];
  results.push("node: " + run(process.execPath, ["check.mjs"], scratch).trim());
  results.push("bun: " + run(bin("bun"), ["check.mjs"], scratch).trim());
  results.push("deno: " + run(bin("deno"), ["run", "-A", "check.mjs"], scratch).trim());
  const version = run(join(scratch, "node_modules", ".bin", "malamute"), ["--version"], scratch).trim();
  results.push("npx malamute --version (Node): " + version);
  const bunVersion = run(bin("bun"), ["x", "--bun", "malamute", "--version"], scratch).trim();
  results.push("bunx --bun malamute --version (Bun): " + bunVersion);
  console.log(`package ${packed} installs and imports:\n  ${results.join("\n  ")}`);
  const leftovers = readdirSync(scratch);
  if (!leftovers.includes("node_modules")) throw new Error("install produced no node_modules");
} catch (err) {
  const e = err as { stderr?: string; message: string };
  console.error(`package check failed: ${e.message}\n${e.stderr ?? ""}`);
  process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
