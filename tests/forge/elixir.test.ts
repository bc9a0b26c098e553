// The Elixir examples, run with the real `elixir` (Debian's 1.14 / OTP 25, standard library
// only). Elixir missing is a failure, not a skip: .ci/run installs it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startBroker, type Broker } from "../../src/broker/server.ts";
import { connect, type RpcClient } from "../../src/rpc/client/client.ts";
import type { RpcWorker } from "../../src/rpc/worker/worker.ts";
import { inproc } from "../../src/transport/inproc.ts";
import {
  commandKokoro, ForgeError, forgeContracts, type Progress, ScriptHost, scriptKokoro, serveKokoro,
} from "../../src/forge/mod.ts";
import { never, wavHeader } from "./helpers.ts";

const scripts = fileURLToPath(new URL("../../examples/forge/scripts/", import.meta.url));
const elixirVersion = (() => {
  try {
    return execFileSync("elixir", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return undefined;
  }
})();
const needElixir = () => assert.ok(elixirVersion, "elixir is not installed: run `apt-get install -y elixir` (.ci/run installs it when missing)");
const code = (c: string) => (e: unknown) => e instanceof ForgeError && e.code === c;

/** Checks a WAV independently of src/forge: 24 kHz mono 16-bit, `duration` seconds long. */
function checkWav(wav: Uint8Array, duration: number): void {
  const h = wavHeader(wav);
  assert.deepEqual([h.riff, h.wave, h.data, h.format, h.channels, h.bits, h.sampleRate], ["RIFF", "WAVE", "data", 1, 1, 16, 24_000]);
  assert.equal(h.dataSize, wav.length - 44);
  assert.equal(h.dataSize / 2 / 24_000, duration);
  assert.ok(wav.subarray(44).some((b) => b !== 0), "silent audio");
}

describe("Elixir: forge_worker.exs over the long-lived script protocol", () => {
  const endpoint = "inproc://forge-elixir-test";
  let host: ScriptHost;
  let broker: Broker;
  let worker: RpcWorker;
  let client: RpcClient<typeof forgeContracts>;

  before(async () => {
    host = new ScriptHost({ command: "elixir", args: [`${scripts}forge_worker.exs`], startTimeoutMs: 30_000 });
    broker = await startBroker({ endpoints: [endpoint], transport: inproc });
    worker = await serveKokoro(endpoint, scriptKokoro(host), { transport: inproc });
    client = await connect(endpoint, forgeContracts, { transport: inproc });
  });
  after(async () => {
    await client.close();
    await worker.close();
    await host.close();
    await broker.close();
  });

  it("round-trips every msgpack type through the script's own codec", async () => {
    needElixir();
    const ints = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 40, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 40)];
    const value = {
      nil: null, yes: true, no: false, ints, float: -1.25e-3, text: "héllo ☃", str8: "x".repeat(200), str16: "y".repeat(70_000),
      bin: Uint8Array.from({ length: 256 }, (_, i) => i), bin32: Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff),
      array16: Array.from({ length: 20 }, (_, i) => i), map16: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, [i]])),
      nested: { a: [{ b: [] }, {}] },
    };
    assert.deepEqual(await host.call("echo", value, { signal: never() }), value);
  });

  it("serves kokoro.synthesize to a typed client through the broker, with progress", async () => {
    needElixir();
    const progress: Progress[] = [];
    const out = await client.kokoro.synthesize({ text: "Hello from Elixir", voice: "am_adam", speed: 1.5 }, { timeout: 30_000, onProgress: (p) => progress.push(p) });
    assert.equal(out.format, "wav");
    assert.equal(out.sampleRate, 24_000);
    assert.equal(out.duration, 0.5); // three words of 0.25 s / 1.5
    checkWav(out.audio, out.duration);
    assert.deepEqual(progress.at(-1), { done: 1, total: 1, stage: "synthesize" });
  });

  it("passes the script's error code through (FORGE_UNSUPPORTED for mp3)", async () => {
    needElixir();
    await assert.rejects(client.kokoro.synthesize({ text: "hi", format: "mp3" }, { timeout: 30_000 }), (e: unknown) => (e as { code?: string }).code === "FORGE_UNSUPPORTED");
  });
});

describe("Elixir: the unmodified one-shot kokoro_tts_generation.exs through command mode", () => {
  const args = [`${scripts}kokoro_tts_generation.exs`, "--text", "{text}", "--voice", "{voice}", "--speed", "{speed}"];

  it("runs per call with templated arguments and reads the --out file back", async () => {
    needElixir();
    const speech = commandKokoro({ command: "elixir", args: [...args, "--out", "{out.audio:wav}"], timeoutMs: 30_000, model: "kokoro-exs" });
    const out = await speech.synthesize({ text: "one two three four", speed: 2 }, { signal: never() });
    assert.deepEqual([out.format, out.sampleRate, out.duration, out.model], ["wav", 24_000, 0.5, "kokoro-exs"]);
    checkWav(out.audio, 0.5);
  });

  it("a usage error of the script fails with FORGE_COMMAND_FAILED and its stderr", async () => {
    needElixir();
    const broken = commandKokoro({ command: "elixir", args, timeoutMs: 30_000 }); // no --out: the script refuses
    const err = await broken.synthesize({ text: "hi" }, { signal: never() }).catch((e: unknown) => e);
    assert.ok(code("FORGE_COMMAND_FAILED")(err), String(err));
    const details = (err as ForgeError).details as Record<string, unknown>;
    assert.equal(details["exitCode"], 2);
    assert.match(String(details["stderr"]), /usage: kokoro_tts_generation/);
  });
});
