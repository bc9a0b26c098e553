// Helpers of the Python interop tests: find a python3 with pyzmq and msgpack, and drive a
// python child by the lines it prints.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach } from "node:test";
import { fileURLToPath } from "node:url";
import { contractJsonSchema } from "../../src/rpc/json-schema.ts";
import { qwen3vl } from "../rpc/contracts.ts";
import { rig, type Rig } from "../rpc/harness.ts";

const here = fileURLToPath(new URL(".", import.meta.url));

/** What a test says when no usable python3 is found (it fails, never skips). */
export const NEED_PYTHON = "python3 (>= 3.10) with pyzmq and msgpack is required: install the Debian packages python3-zmq python3-msgpack (.ci/run does)";

/** The first python3 that imports zmq and msgpack ($MALAMUTE_PYTHON, python3, /usr/bin/python3). */
export function findPython(): string | undefined {
  const candidates = [process.env["MALAMUTE_PYTHON"], "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ["-c", "import sys, zmq, msgpack; assert sys.version_info >= (3, 10)"], { stdio: "ignore" });
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** A python3 child with its stdout split into lines, and a way to wait for one. */
export class Py {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  #waiters: Array<() => void> = [];
  #stderr = "";

  /** `script` is relative to tests/python/. */
  constructor(python: string, script: string, args: string[]) {
    this.child = spawn(python, [join(here, script), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let buffer = "";
    this.child.stdout!.setEncoding("utf8");
    this.child.stdout!.on("data", (data: string) => {
      buffer += data;
      const parts = buffer.split("\n");
      buffer = parts.pop() as string;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (data: string) => (this.#stderr += data));
    this.child.on("exit", () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  count(line: string): number {
    return this.lines.filter((l) => l === line).length;
  }

  /** Waits until `line` has been printed `times` times; fails after `ms` with the child's stderr. */
  async waitFor(line: string, times = 1, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.count(line) < times) {
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > end) {
        assert.fail(`python ${this.child.spawnargs.slice(1).join(" ")}: no "${line}" (×${times}); stdout ${JSON.stringify(this.lines)}; stderr ${this.#stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async exited(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise((resolve) => this.child.once("exit", resolve));
  }

  get stderr(): string {
    return this.#stderr;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
      await this.exited();
    }
  }
}

/**
 * Registers, in the calling `describe`, a temporary directory holding the qwen3vl contract as
 * the JSON Schema a Python worker loads, and a fresh broker rig per test (so no worker of one
 * test takes the calls of the next). Read `rig` and `schemaPath` inside the tests.
 */
export function pythonQwenRig(): { readonly rig: Rig; readonly schemaPath: string } {
  let current: Rig | undefined;
  let dir = "";
  let schemaPath = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "malamute-py-"));
    schemaPath = join(dir, "qwen3vl.schema.json");
    writeFileSync(schemaPath, JSON.stringify(contractJsonSchema(qwen3vl)));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    current = await rig();
  });
  afterEach(() => current?.close());
  return {
    get rig(): Rig {
      return current as Rig;
    },
    get schemaPath(): string {
      return schemaPath;
    },
  };
}
