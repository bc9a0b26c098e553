/**
 * Runs every bench/*.ts (or the ones named on the command line) on Node, Bun and Deno,
 * collects their rows and prints one table, also written to bench/results/latest.json.
 *
 *   npm run bench                 # everything
 *   npm run bench -- codec zmtp   # just those files
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchRow, formatTable } from "./lib.ts";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const wanted = process.argv.slice(2);
const files = readdirSync(here)
  // lib*.ts are helpers of the benchmarks, not benchmarks.
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.startsWith("lib"))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.ts$/, "")))
  .sort();

const runtimes: Array<{ name: string; cmd: string; args: (file: string) => string[] }> = [
  { name: "node", cmd: process.execPath, args: (f) => ["--import", "tsx", f] },
  { name: "bun", cmd: bin("bun"), args: (f) => [f] },
  { name: "deno", cmd: bin("deno"), args: (f) => ["run", "-A", f] },
];

const rows: BenchRow[] = [];
const failures: string[] = [];
for (const file of files) {
  for (const runtime of runtimes) {
    process.stderr.write(`bench ${file} on ${runtime.name}...\n`);
    const result = spawnSync(runtime.cmd, runtime.args(join(here, file)), {
      cwd: root, encoding: "utf8", maxBuffer: 64 << 20, timeout: 180_000,
    });
    const line = (result.stdout ?? "").split("\n").find((l) => l.startsWith("BENCH_JSON "));
    if (result.status !== 0 || !line) {
      failures.push(`${file} on ${runtime.name}: exit ${result.status} ${(result.stderr ?? "").trim().split("\n").slice(-3).join(" / ")}`);
      continue;
    }
    rows.push(...(JSON.parse(line.slice("BENCH_JSON ".length)) as BenchRow[]));
  }
}

console.log(formatTable(rows));
for (const failure of failures) console.log(`FAILED: ${failure}`);
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(
  join(here, "results", "latest.json"),
  JSON.stringify({ date: new Date().toISOString(), cpus: availableParallelism(), rows, failures }, null, 2) + "\n",
);
process.exitCode = failures.length > 0 ? 1 : 0;
