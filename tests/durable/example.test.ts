// examples/durable.ts is the runnable companion of docs/durability.md: it must run, on each runtime.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("examples/durable.ts", () => {
  it("keeps mail and a stream across a restart, replays it, and resumes a durable consumer", { timeout: 60_000 }, async () => {
    const file = join(root, "examples/durable.ts");
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const bun = (globalThis as { Bun?: unknown }).Bun;
    const [command, args] = deno
      ? [deno.execPath(), ["run", "-A", file]]
      : bun ? [process.execPath, [file]] : [process.execPath, ["--import", "tsx", file]];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(command, args, { cwd: root, timeout: 50_000 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      });
    });
    assert.equal(code, 0, `exit code ${code}\n${stdout}\n${stderr}`);
    assert.equal(stdout, [
      "alice: invoice #7 stored for bob",
      "broker restarted: 1 message(s) recovered",
      "bob: invoice from alice: #7: 42 EUR",
      "bob: jobs #1 job-1.queued",
      "bob: jobs #2 job-1.started",
      "bob: jobs #3 job-1.done",
      "bob, later: jobs #4 job-2.queued",
      "",
    ].join("\n"));
  });
});
