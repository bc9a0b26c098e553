import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandKokoro, commandQwen3Vl, commandSam3, commandZImage, CommandRunner, ForgeError, type CommandOptions, type Sam3Chunk } from "../../src/forge/mod.ts";
import { never } from "./helpers.ts";
import { runScript } from "./runtime.ts";

const script = fileURLToPath(new URL("./fixtures/command-script.mjs", import.meta.url));
const samplePng = fileURLToPath(new URL("../../examples/forge/assets/sample.png", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "forge-cmd-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
};

/** A fresh temp root per test, so "nothing left behind" is checkable. */
function options(args: CommandOptions["args"], extra: Partial<CommandOptions> = {}): CommandOptions {
  const { command, args: pre } = runScript(script);
  return { command, args: [...pre, ...args], tempDir: mkdtempSync(join(scratch, "t-")), ...extra };
}
const leftovers = (o: CommandOptions) => readdirSync(o.tempDir!);

/** Whether a process still runs (a zombie does not: it is dead, only not yet reaped). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The pids a hanging script recorded; fails (rather than waits forever) if `call` ends before it wrote them. */
async function hangingPids(pidFile: string, call?: Promise<unknown>): Promise<{ pid: number; child: number }> {
  let ended: unknown;
  call?.then((v) => (ended = v ?? "resolved"), (e: unknown) => (ended = e));
  await until(() => ended !== undefined || (existsSync(pidFile) && readFileSync(pidFile, "utf8").length > 0));
  if (!existsSync(pidFile)) assert.fail(`the call ended before the script started: ${String(ended)}`);
  return JSON.parse(readFileSync(pidFile, "utf8")) as { pid: number; child: number };
}

describe("command mode", () => {
  it("passes templated arguments exactly (no shell) and reads JSON stdout", async () => {
    const o = options(["args", "{prompt}", "{opts.n}", "{{x}}", "{list[1]}"], { stdout: "json" });
    const prompt = `a "kite"; echo $HOME && rm -rf / 'é' \\ `;
    const result = await new CommandRunner(o).run({ prompt, opts: { n: 7 }, list: ["a", "b"] }, { signal: never() });
    assert.deepEqual(result.json, [prompt, "7", "{x}", "b"]);
    assert.deepEqual(leftovers(o), []);
  });

  it("maps text stdout onto qwen3vl.infer, with the image passed as a file", async () => {
    const backend = commandQwen3Vl({ ...options(["text", "size", "{images[0]:file}", "{prompt}"]), model: "qwen3vl-script" });
    const png = readFileSync(samplePng);
    const out = await backend.infer({ images: [{ data: png, mimeType: "image/png" }], prompt: "describe" }, { signal: never() });
    assert.match(out.text, /^size \/.*\/input-0\.png describe$/);
    assert.equal(out.finishReason, "stop");
    assert.equal(out.model, "qwen3vl-script");
    assert.equal(out.usage.totalTokens, out.usage.promptTokens + out.usage.completionTokens);
  });

  it("reads output files back as bytes, and writes binary inputs byte for byte", async () => {
    const o = options(["copy", "{data:file}", "{out:bin}", "{out.reversed:bin}"], { stdout: "json" });
    const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff);
    const result = await new CommandRunner(o).run({ data }, { signal: never() });
    assert.deepEqual(result.json, { size: data.length });
    assert.deepEqual(result.files["out"], data);
    assert.deepEqual(result.files["reversed"], Uint8Array.from(data).reverse());
    assert.deepEqual(leftovers(o), []);
  });

  it("maps an output PNG onto zimage.generate (size from the header, the seed it was given)", async () => {
    const backend = commandZImage(options(["copy", samplePng, "{out.png:png}"], { stdout: "json" }));
    const out = await backend.generate({ prompt: "a kite", seed: 42 }, { signal: never() });
    assert.deepEqual(out.png, new Uint8Array(readFileSync(samplePng)));
    assert.equal(out.seed, 42);
    assert.ok(out.width > 0 && out.height > 0);
  });

  it("streams sam3.segment from JSON lines as they are printed (log lines skipped, the last line without a newline)", async () => {
    const backend = commandSam3(options(["sam3", "{video:file}", "{prompts:json}"]));
    const video = { kind: "file" as const, data: Uint8Array.of(1, 2, 3), mimeType: "video/mp4" };
    const chunks: Sam3Chunk[] = [];
    for await (const c of backend.segment({ video, prompts: [{ type: "text", text: "kite" }] }, { signal: never() })) chunks.push(c);
    assert.deepEqual(chunks.map((c) => c.type), ["progress", "frame", "frame", "summary"]);
    const frame = chunks[1] as Extract<Sam3Chunk, { type: "frame" }>;
    assert.equal(frame.objects[0]!.label, "kite");
    assert.equal(frame.objects[0]!.area, 3); // the video reached the script as a file
  });

  it("stopping a sam3 stream early kills the script's process group", async () => {
    const pidFile = join(scratch, "sam3-stop.json");
    const o = options(["sam3", "{video:file}", "{prompts:json}", pidFile]);
    const video = { kind: "file" as const, data: Uint8Array.of(1), mimeType: "video/mp4" };
    for await (const c of commandSam3(o).segment({ video, prompts: [{ type: "text", text: "kite" }] }, { signal: never() })) {
      if (c.type === "frame") break;
    }
    const pids = await hangingPids(pidFile);
    assert.equal(alive(pids.pid), false);
    assert.equal(alive(pids.child), false);
    assert.deepEqual(leftovers(o), []);
  });

  it("a sam3 chunk that breaks the contract fails the stream with FORGE_BAD_RESPONSE and kills the script", async () => {
    const backend = commandSam3(options(["sam3-bad"]));
    const video = { kind: "file" as const, data: Uint8Array.of(1), mimeType: "video/mp4" };
    await assert.rejects(async () => {
      for await (const _ of backend.segment({ video, prompts: [{ type: "text", text: "kite" }] }, { signal: never() })) { /* none valid */ }
    }, code("FORGE_BAD_RESPONSE"));
  });

  it("fails an output that breaks the contract with FORGE_BAD_RESPONSE", async () => {
    const backend = commandKokoro(options(["copy", samplePng, "{out.audio:wav}"]));
    await assert.rejects(backend.synthesize({ text: "hi" }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
  });

  it("a non-zero exit fails with FORGE_COMMAND_FAILED, the exit code and stderr in the error", async () => {
    const o = options(["fail", "{data:file}"]);
    const runner = new CommandRunner(o);
    const err = await runner.run({ data: Uint8Array.of(1) }, { signal: never() }).catch((e: unknown) => e);
    assert.ok(err instanceof ForgeError && err.code === "FORGE_COMMAND_FAILED", String(err));
    assert.match(err.message, /exited with code 3: error: out of memory on device 0/);
    const details = err.details as Record<string, unknown>;
    assert.equal(details["exitCode"], 3);
    assert.match(String(details["stderr"]), /loading model\.\.\.\nerror: out of memory/);
    assert.deepEqual(leftovers(o), []);
    assert.equal(runner.stats.failed, 1);
  });

  it("keeps only the last maxStderrBytes of stderr", async () => {
    const err = await new CommandRunner(options(["fail"], { maxStderrBytes: 10 })).run({}, { signal: never() }).catch((e: unknown) => e);
    assert.ok(err instanceof ForgeError);
    assert.equal((err.details as Record<string, unknown>)["stderr"], " device 0\n");
  });

  it("a script that hangs is killed at timeoutMs with its whole process group, and its files are removed", async () => {
    const pidFile = join(scratch, "hang-timeout.json");
    const o = options(["hang", pidFile, "{data:file}"], { timeoutMs: 2000 });
    const runner = new CommandRunner(o);
    const call = runner.run({ data: Uint8Array.of(1, 2) }, { signal: never() });
    const pids = await hangingPids(pidFile, call);
    assert.ok(alive(pids.pid) && alive(pids.child));
    await assert.rejects(call, code("RPC_DEADLINE_EXCEEDED"));
    assert.equal(alive(pids.pid), false, "the script survived");
    assert.equal(alive(pids.child), false, "the script's child survived");
    assert.deepEqual(leftovers(o), []);
    assert.equal(runner.stats.timedOut, 1);
  });

  it("cancelling kills the process group at once and removes the files", async () => {
    const pidFile = join(scratch, "hang-cancel.json");
    const o = options(["hang", pidFile, "{data:file}"]);
    const ac = new AbortController();
    const call = new CommandRunner(o).run({ data: Uint8Array.of(1) }, { signal: ac.signal });
    const pids = await hangingPids(pidFile);
    ac.abort();
    await assert.rejects(call, code("RPC_CANCELLED"));
    assert.equal(alive(pids.pid), false);
    assert.equal(alive(pids.child), false);
    assert.deepEqual(leftovers(o), []);
  });

  it("the call's deadline kills the process like timeoutMs", async () => {
    const pidFile = join(scratch, "hang-deadline.json");
    const call = new CommandRunner(options(["hang", pidFile])).run({}, { signal: never(), deadline: Date.now() + 2000 });
    const pids = await hangingPids(pidFile, call);
    await assert.rejects(call, code("RPC_DEADLINE_EXCEEDED"));
    assert.equal(alive(pids.child), false);
  });

  it("runs at most `concurrency` processes, queues up to maxQueue, refuses beyond", async () => {
    const go = join(scratch, "go");
    const runner = new CommandRunner(options(["wait", go], { concurrency: 2, maxQueue: 1 }));
    const calls = [1, 2, 3].map(() => runner.run({}, { signal: never() }));
    await until(() => runner.stats.started === 2);
    assert.equal(runner.stats.running, 2);
    assert.equal(runner.stats.queued, 1);
    await assert.rejects(runner.run({}, { signal: never() }), code("RPC_RESOURCE_EXHAUSTED"));
    assert.equal(runner.stats.rejected, 1);
    assert.equal(runner.stats.started, 2, "a queued call started a process");
    writeFileSync(go, "");
    const results = await Promise.all(calls);
    assert.deepEqual(results.map((r) => r.stdout), ["done", "done", "done"]);
    assert.equal(runner.stats.started, 3);
    assert.equal(runner.stats.running, 0);
  });

  it("close() kills running process groups (RPC_UNAVAILABLE), fails queued calls and refuses new ones", async () => {
    const pidFile = join(scratch, "hang-close.json");
    const o = options(["hang", pidFile]);
    const runner = new CommandRunner(o);
    const running = runner.run({}, { signal: never() });
    const queued = runner.run({}, { signal: never() });
    queued.catch(() => {}); // checked below, after the running call
    const pids = await hangingPids(pidFile);
    await runner.close();
    await assert.rejects(running, (e: unknown) => code("RPC_UNAVAILABLE")(e) && /closed/.test((e as Error).message));
    await assert.rejects(queued, code("RPC_UNAVAILABLE"));
    await assert.rejects(runner.run({}, { signal: never() }), code("RPC_UNAVAILABLE"));
    assert.equal(alive(pids.child), false);
    assert.deepEqual(leftovers(o), []);
  });

  it("a call cancelled while queued never starts a process", async () => {
    const go = join(scratch, "go-queued");
    const runner = new CommandRunner(options(["wait", go]));
    const first = runner.run({}, { signal: never() });
    const ac = new AbortController();
    const queued = runner.run({}, { signal: ac.signal });
    ac.abort();
    await assert.rejects(queued, code("RPC_CANCELLED"));
    writeFileSync(go, "");
    await first;
    assert.equal(runner.stats.started, 1);
  });

  it("stdout at maxStdoutBytes is accepted, one byte more fails with FORGE_BAD_RESPONSE", async () => {
    const runner = new CommandRunner(options(["noisy", "{n}"], { maxStdoutBytes: 1000 }));
    assert.equal((await runner.run({ n: 1000 }, { signal: never() })).stdout.length, 1000);
    await assert.rejects(runner.run({ n: 1001 }, { signal: never() }), code("FORGE_BAD_RESPONSE"));
  });

  it("invalid JSON on stdout and a missing output file fail with FORGE_BAD_RESPONSE; files are removed", async () => {
    const o = options(["bad-json", "{out:png}"], { stdout: "json" });
    await assert.rejects(new CommandRunner(o).run({}, { signal: never() }), code("FORGE_BAD_RESPONSE"));
    const o2 = options(["args", "{out:png}"]);
    await assert.rejects(new CommandRunner(o2).run({}, { signal: never() }), (e: unknown) => code("FORGE_BAD_RESPONSE")(e) && /output file out/.test((e as Error).message));
    assert.deepEqual([...leftovers(o), ...leftovers(o2)], []);
  });

  it("input that does not fit the template fails with RPC_VALIDATION without starting anything", async () => {
    const o = options(["args", "{prompt}"]);
    const runner = new CommandRunner(o);
    await assert.rejects(runner.run({}, { signal: never() }), code("RPC_VALIDATION"));
    assert.equal(runner.stats.started, 0);
    assert.deepEqual(leftovers(o), []);
  });

  it("a temp directory that cannot be made fails with RPC_INTERNAL, without starting anything", async () => {
    const runner = new CommandRunner({ ...options(["args"]), tempDir: join(scratch, "missing", "dir") });
    await assert.rejects(runner.run({}, { signal: never() }), code("RPC_INTERNAL"));
    assert.equal(runner.stats.started, 0);
  });

  it("a command that cannot start fails with RPC_UNAVAILABLE", async () => {
    const o: CommandOptions = { command: join(scratch, "no-such-program"), args: ["x"], tempDir: mkdtempSync(join(scratch, "t-")) };
    await assert.rejects(new CommandRunner(o).run({}, { signal: never() }), code("RPC_UNAVAILABLE"));
    assert.deepEqual(leftovers(o), []);
  });
});
