/**
 * Child processes of the soak that run one of its own scripts (the healthy client, churned RPC
 * workers) with the soak's own runtime, so a Bun or Deno soak measures Bun or Deno peers.
 */
import { type ChildProcess, spawn, spawnSync, type StdioOptions } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "./lib.ts";

const esbuild = fileURLToPath(new URL("../node_modules/.bin/esbuild", import.meta.url));
const bundles = new Map<string, string | undefined>();
let bundleDir: string | undefined;

/**
 * `script` bundled into one ESM file for Node (esbuild, which tsx brings along), made once per
 * script and removed when the soak exits; undefined when esbuild is not there or fails. Node
 * starts a bundle in ~0.1 s and ~0.1 CPU-s instead of ~0.8 s and ~1.2 CPU-s through tsx: it
 * matters for children started twice a second on a small machine.
 */
function bundled(script: string): string | undefined {
  if (bundles.has(script)) return bundles.get(script);
  if (bundleDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "soak-bundle-"));
    bundleDir = dir;
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const out = join(bundleDir, `${basename(script, ".ts")}.mjs`);
  const r = spawnSync(esbuild, [script, "--bundle", "--platform=node", "--format=esm", `--outfile=${out}`, "--log-level=error"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const result = r.status === 0 ? out : undefined;
  bundles.set(script, result);
  return result;
}

/** How {@link spawnScript} runs a script. */
export interface SpawnScriptOptions {
  /** On Node, run an esbuild bundle of the script (falls back to tsx). Default false. */
  bundle?: boolean;
}

/**
 * Spawn `script` (a file path) with `args` under the running runtime: `node --import tsx` (or
 * `node <bundle>` with `bundle`), `bun` or `deno run -A`.
 *
 * @example
 * ```ts
 * const child = spawnScript(fileURLToPath(import.meta.url), ["--soak-healthy", endpoint], ["pipe", "pipe", "inherit"]);
 * ```
 */
export function spawnScript(script: string, args: string[], stdio: StdioOptions, options: SpawnScriptOptions = {}): ChildProcess {
  const runtime = runtimeName();
  const all = [script, ...args];
  const bundle = runtime === "node" && options.bundle === true ? bundled(script) : undefined;
  const argv = runtime === "deno"
    ? ["run", "-A", ...all]
    : runtime === "bun"
    ? all
    : bundle !== undefined
    ? [bundle, ...args]
    : ["--import", "tsx", ...all];
  return spawn(process.execPath, argv, { stdio });
}

/**
 * How {@link spawnScript} runs `script` with these options, for reports: "node (esbuild bundle)".
 *
 * @example
 * ```ts
 * notes.push(`workers: ${spawnedAs(workerScript, { bundle: true })}`);
 * ```
 */
export function spawnedAs(script: string, options: SpawnScriptOptions = {}): string {
  const runtime = runtimeName();
  if (runtime !== "node") return runtime;
  return options.bundle === true && bundled(script) !== undefined ? "node (esbuild bundle)" : "node (tsx)";
}
