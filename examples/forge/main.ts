/**
 * `npm start` — the Forge demo: an embedded malamute broker, four typed workers on the CPU
 * demo backends, and the pipeline image → qwen3vl describes → zimage generates → kokoro
 * narrates → sam3 tracks, writing its artifacts to ./out.
 *
 *   npm start                                   # Node (tsx)
 *   bun run examples/forge/main.ts              # Bun
 *   deno task start                             # Deno
 *   npm start -- --image my.png --out results --seed 7
 *   npm start -- --http 127.0.0.1:8222 --stay   # dashboard on a fixed port, broker kept up until Ctrl-C
 *   npm start -- --http off                      # no HTTP endpoint
 *   npm start -- --curve                        # every connection encrypted (ZMTP CURVE)
 */
import process from "node:process";
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { StepTiming } from "../../src/forge/mod.ts";
import { type DemoReport, runDemo } from "./demo.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    image: { type: "string", default: fileURLToPath(new URL("./assets/sample.png", import.meta.url)) },
    out: { type: "string", default: "out" },
    seed: { type: "string" },
    timeout: { type: "string", default: "120000" },
    http: { type: "string", default: "127.0.0.1:0" },
    stay: { type: "boolean", default: false },
    curve: { type: "boolean", default: false },
  },
  strict: true,
});

const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`).padStart(8);
const rel = (p: string) => relative(process.cwd(), p) || p;
const controller = new AbortController();
process.on("SIGINT", () => controller.abort(new Error("interrupted")));

console.log("Forge demo — demo backends stand in for Qwen3-VL, Z-Image, Kokoro and SAM 3 (CPU only, no weights).");
try {
  const options: Parameters<typeof runDemo>[0] = {
    image: values.image!,
    outDir: values.out!,
    timeoutMs: Number(values.timeout),
    signal: controller.signal,
    curve: values.curve === true,
    onStep: (t: StepTiming) => console.log(`  ${t.status === "ok" ? "✓" : "✗"} ${t.name.padEnd(9)}${ms(t.durationMs)}`),
    onBroker: (b) => {
      if (b.dashboard) console.log(`dashboard ${b.dashboard}${values.stay ? "" : "  (up while the pipeline runs; --stay keeps it)"}`);
    },
    onReport: printReport,
  };
  if (values.http !== "off") options.http = values.http!;
  if (values.stay) {
    options.stay = () => {
      console.log("broker and dashboard stay up: Ctrl-C to stop");
      return new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve(), { once: true }));
    };
  }
  if (values.seed !== undefined) options.seed = Number(values.seed);
  await runDemo(options);
  process.exit(0);
} catch (err) {
  const e = err as { code?: string; message?: string };
  console.error(`forge demo failed${e.code ? ` [${e.code}]` : ""}: ${e.message ?? String(err)}`);
  process.exit(controller.signal.aborted ? 130 : 1);
}

function printReport(r: DemoReport): void {
  const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + "…" : s);
  console.log("");
  console.log(`runtime   ${r.runtime} · broker ${r.broker}${r.security.mechanism === "curve" ? ` · CURVE, ${r.security.authenticatedClients} authenticated connections` : ""}`);
  console.log(`workers   ${Object.entries(r.backends).map(([s, b]) => `${s}=${b}`).join("  ")}`);
  console.log(`input     ${rel(r.input.path)} (${r.input.width}×${r.input.height})`);
  const step = (name: string) => ms(r.steps.find((s) => s.name === name)?.durationMs ?? 0);
  console.log(`describe ${step("describe")}  "${clip(r.description.text, 70)}" (${r.description.usage.totalTokens} tokens)`);
  console.log(`generate ${step("generate")}  ${r.image.width}×${r.image.height} PNG, seed ${r.image.seed} → ${rel(r.image.path)}`);
  console.log(`narrate  ${step("narrate")}  ${r.audio.duration.toFixed(1)} s ${r.audio.format.toUpperCase()} at ${r.audio.sampleRate / 1000} kHz → ${rel(r.audio.path)}`);
  const followed = r.tracking.objects.map((o) => `object ${o.objectId} in ${o.frames}/${r.tracking.frames} frames`).join(", ") || "nothing found";
  console.log(`track    ${step("track")}  ${followed} → ${rel(r.tracking.path)}`);
  console.log(`total    ${ms(r.totalMs)}  · ${r.events.total} events on forge.events · report → ${rel(r.image.path.replace(/generated\.png$/, "report.json"))}`);
}
