// The dashboard in a real headless Chromium. The browser side runs in a Node child process
// (dashboard-browser-run.ts), so this file behaves the same under node --test, bun test and
// deno test. A missing Chromium fails the test: CI installs Debian's `chromium`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

function runBrowser() {
  const child = spawnSync("node", ["--import", "tsx", "tests/http/dashboard-browser-run.ts"], {
    cwd: root, encoding: "utf8", timeout: 45_000,
  });
  const line = child.stdout.trim().split("\n").pop() ?? "";
  let result: { ok: boolean; steps?: string[]; errors?: string[] } | undefined;
  try {
    result = JSON.parse(line);
  } catch {
    assert.fail(`browser run printed no result (status ${child.status}, signal ${child.signal}):\n${child.stdout}\n${child.stderr}`);
  }
  assert.deepEqual(result!.errors, [], `dashboard in Chromium: ${JSON.stringify(result)}`);
  assert.equal(result!.ok, true);
  assert.equal(child.status, 0);
  return result!;
}

describe("dashboard in headless Chromium", { timeout: 60_000 }, () => {
  it("shows a worker connecting, a queue growing and draining, and a failed job, each within 2 s (real broker, worker and /api/events)", () => {
    const result = runBrowser();
    assert.ok(result.steps?.includes("screenshot out/dashboard.png"));
    assert.ok(existsSync(join(root, "out/dashboard.png")));
  });
});
