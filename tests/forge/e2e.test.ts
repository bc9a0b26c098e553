import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runDemo } from "../../examples/forge/demo.ts";
import { decodeApng, decodePng, parseWav } from "../../src/forge/mod.ts";
import { pngChunks, wavHeader } from "./helpers.ts";
import { runtimeName } from "./runtime.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const sample = join(root, "examples/forge/assets/sample.png");
const scratch = mkdtempSync(join(tmpdir(), "forge-e2e-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Checks the artifacts a demo run wrote to `dir`. */
function checkArtifacts(dir: string): void {
  const png = new Uint8Array(readFileSync(join(dir, "generated.png")));
  for (const c of pngChunks(png)) assert.ok(c.crcOk, `generated.png ${c.type} CRC`);
  assert.equal(decodePng(png).width, 512);
  const wav = new Uint8Array(readFileSync(join(dir, "narration.wav")));
  const h = wavHeader(wav);
  assert.deepEqual([h.riff, h.wave, h.format, h.sampleRate], ["RIFF", "WAVE", 1, 24000]);
  assert.equal(h.dataSize, wav.length - 44);
  assert.ok(parseWav(wav).duration > 1);
  const apng = new Uint8Array(readFileSync(join(dir, "tracking.apng")));
  for (const c of pngChunks(apng)) assert.ok(c.crcOk, `tracking.apng ${c.type} CRC`);
  assert.equal(decodeApng(apng).frames.length, 16);
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { steps: Array<{ name: string; status: string }> };
  assert.deepEqual(report.steps.map((s) => [s.name, s.status]), [["describe", "ok"], ["generate", "ok"], ["narrate", "ok"], ["track", "ok"]]);
}

describe(`Forge demo end to end (${runtimeName})`, () => {
  it("runs describe → generate → narrate → track over a TCP broker and writes valid artifacts", { timeout: 120_000 }, async () => {
    const out = join(scratch, "in-process");
    const report = await runDemo({ image: sample, outDir: out, seed: 11 });
    assert.match(report.note, /stand in for the models/);
    assert.deepEqual(report.backends, { qwen3vl: "demo-image-stats", zimage: "demo-procedural", kokoro: "demo-formant", sam3: "demo-framediff" });
    assert.match(report.description.text, new RegExp(`${report.input.width}×${report.input.height}`));
    assert.equal(report.image.seed, 11);
    assert.equal(report.tracking.frames, 16);
    // The kite is the only thing that moves; the point prompt must follow it through most frames.
    assert.equal(report.tracking.objects.length, 1);
    assert.ok(report.tracking.objects[0]!.frames >= 12, `kite found in ${report.tracking.objects[0]!.frames} frames`);
    assert.equal(report.events.byKind["started"], 4);
    assert.equal(report.events.byKind["completed"], 4);
    assert.ok((report.events.byKind["progress"] ?? 0) >= 4);
    checkArtifacts(out);
  });

  it("with http, the dashboard's API sees the four workers and the jobs while the broker stays up", { timeout: 120_000 }, async () => {
    let dashboard = "";
    let services: Array<{ name: string; workers: number; calls: number }> = [];
    let page = "";
    await runDemo({
      image: sample, outDir: join(scratch, "with-http"), seed: 3, http: "127.0.0.1:0",
      onBroker: (b) => (dashboard = b.dashboard ?? ""),
      stay: async () => {
        services = await (await fetch(`${dashboard}api/services`)).json() as typeof services;
        page = await (await fetch(dashboard)).text();
      },
    });
    assert.match(dashboard, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(page, /data-events=/);
    const named = Object.fromEntries(services.map((s) => [s.name, s]));
    for (const name of ["qwen3vl", "zimage", "kokoro", "sam3"]) {
      assert.ok((named[name]?.workers ?? 0) >= 1, `${name} has a worker`);
      assert.ok((named[name]?.calls ?? 0) >= 1, `${name} was called`);
    }
  });

  it("--curve: the whole pipeline over CURVE, every connection authenticated by its own key", { timeout: 120_000 }, async () => {
    const out = join(scratch, "curve");
    const report = await runDemo({ image: sample, outDir: out, seed: 12, curve: true });
    assert.equal(report.security.mechanism, "curve");
    // events publisher, watcher, four workers (control + service each), caller (MLM + its cancel producer share one).
    assert.ok(report.security.authenticatedClients >= 10, `${report.security.authenticatedClients} authenticated connections`);
    assert.equal(report.events.byKind["completed"], 4);
    checkArtifacts(out);
  });

  it("`npm start -- --curve` equivalent: main.ts exits 0, encrypted, and prints the time of each step", { timeout: 180_000 }, async () => {
    const out = join(scratch, "cli");
    const main = join(root, "examples/forge/main.ts");
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    const bun = (globalThis as { Bun?: unknown }).Bun;
    const [command, args] = deno
      ? [deno.execPath(), ["run", "-A", main]]
      : bun ? [process.execPath, [main]] : [process.execPath, ["--import", "tsx", main]];
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(command, [...args, "--out", out, "--seed", "5", "--curve"], { cwd: root, timeout: 170_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
      });
    });
    assert.equal(code, 0, `exit code ${code}\n${stdout}\n${stderr}`);
    assert.match(stdout, /demo backends stand in/);
    assert.match(stdout, /^dashboard http:\/\/127\.0\.0\.1:\d+\//m);
    assert.match(stdout, /· CURVE, \d+ authenticated connections/);
    for (const step of ["describe", "generate", "narrate", "track", "total"]) assert.match(stdout, new RegExp(`^${step}\\s+[0-9.]+ (ms|s)`, "m"));
    checkArtifacts(out);
  });
});
