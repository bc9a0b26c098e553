// The runnable entry (src/broker/main.ts): starts in the foreground from a C config file,
// logs the bound endpoint, serves, and stops cleanly on SIGTERM.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { zmtp } from "../../src/transport/zmtp.ts";
import { RawClient } from "./raw-client.ts";

const main = fileURLToPath(new URL("../../src/broker/main.ts", import.meta.url));

function command(args: string[]): string[] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return [main, ...args];
  if (g.Deno !== undefined) return ["run", "-A", main, ...args];
  return ["--import", "tsx", main, ...args];
}

describe("broker main (src/broker/main.ts)", () => {
  it("reads the C config file, logs the bound endpoint, serves MLM and stops on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mlm-broker-"));
    const config = join(dir, "malamute.cfg");
    writeFileSync(config, "server\n    timeout = 10000\nmlm_server\n    security\n        mechanism = null\n    bind\n        endpoint = tcp://127.0.0.1:0\n");
    const child = spawn(process.execPath, command(["--config", config]), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        child.stderr.setEncoding("utf8");
        child.stderr.on("data", (chunk: string) => {
          stderr += chunk;
          const m = /listening endpoint=(tcp:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) resolve(m[1] as string);
        });
        child.on("exit", () => reject(new Error(`broker exited early: ${stderr}`)));
      });
      const client = new RawClient(zmtp, endpoint);
      try {
        await client.open("probe");
        await client.expectOnlyPong();
      } finally {
        await client.close();
      }
      child.kill("SIGTERM");
      const code = await exited;
      // Deno's child_process reports the signal we sent (code null) even when the child
      // handled it and exited 0; the "stopped" line below proves the clean stop there.
      if ((globalThis as { Deno?: unknown }).Deno === undefined || code !== null) assert.equal(code, 0, stderr);
      assert.match(stderr, /stopping signal=SIGTERM/);
      assert.match(stderr, /stopped/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits with status 1 and a one-line message for an unreadable config", async () => {
    const child = spawn(process.execPath, command(["--config", "/nonexistent/malamute.cfg"]), { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
    assert.equal(code, 1);
    assert.match(stderr, /cannot read config file \/nonexistent\/malamute\.cfg/);
  });
});
