/**
 * The Forge demo, as a function: embedded broker, the four workers on the demo backends, the
 * pipeline (describe → generate → narrate → track) on one image, artifacts written to a folder.
 * `main.ts` is the command-line wrapper; the end-to-end tests call this directly.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { startBroker } from "../../src/http/broker.ts";
import { connect } from "../../src/rpc/client/client.ts";
import {
  decodePng, demoBackends, encodeApng, type ForgeEvent, ForgeEvents, forgeContracts, forgePipeline, type Sam3FrameMasks,
  type Sam3Summary, serveForge, type StepTiming, watchForgeEvents,
} from "../../src/forge/mod.ts";
import { type CurveKeyPair, curveKeyPair } from "../../src/zmtp/mechanism/curve/box.ts";
import { encodeZ85 } from "../../src/zmtp/z85.ts";
import { drawMasks, makeKiteClip } from "./clip.ts";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** The input PNG. */
  image: string;
  /** Folder for the artifacts (created if missing). */
  outDir: string;
  /** zimage seed; random when absent. */
  seed?: number;
  /** Deadline of the whole pipeline, ms. Default 120 000. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each step's timing as it finishes. */
  onStep?: (timing: StepTiming) => void;
  /** Serve the broker's metrics, admin API and dashboard on this address (e.g. `127.0.0.1:0`). */
  http?: string;
  /** Called once the broker is up, before the pipeline runs. */
  onBroker?: (broker: { endpoint: string; dashboard?: string }) => void;
  /** Called with the report as soon as it is written. */
  onReport?: (report: DemoReport) => void;
  /** Awaited after the report, before the broker stops (e.g. until Ctrl-C, to keep the dashboard up). */
  stay?: () => Promise<void>;
  /**
   * Run every connection (workers, event publisher, watcher, caller) over ZMTP CURVE: the broker
   * gets a fresh key pair, each component its own, and the broker admits only those keys.
   */
  curve?: boolean;
}

/** What the demo did; also written to `report.json`. */
export interface DemoReport {
  note: string;
  runtime: string;
  broker: string;
  /** `curve`: every connection was encrypted (each listed client authenticated by its key); else `null`. */
  security: { mechanism: "null" | "curve"; authenticatedClients: number };
  backends: Record<string, string>;
  input: { path: string; width: number; height: number; bytes: number };
  description: { text: string; finishReason: string; usage: { promptTokens: number; completionTokens: number; totalTokens: number } };
  image: { path: string; width: number; height: number; seed: number; bytes: number };
  audio: { path: string; format: string; sampleRate: number; duration: number; bytes: number };
  tracking: { path: string; frames: number; fps: number; objects: Sam3Summary["objects"] };
  steps: StepTiming[];
  totalMs: number;
  events: { total: number; byKind: Record<string, number> };
}

/**
 * A server key pair for the broker and one key pair per component; the broker admits exactly
 * those client keys, so the demo exercises authorization as well as encryption.
 */
function curveKeys() {
  const server = curveKeyPair();
  const clients = new Map<string, CurveKeyPair>();
  const allowed = new Set<string>();
  return {
    server: { ...server, authorize: (key: Uint8Array) => allowed.has(encodeZ85(key)) },
    client(role: string): { curve: { serverKey: Uint8Array; publicKey: Uint8Array; secretKey: Uint8Array } } {
      let pair = clients.get(role);
      if (!pair) {
        pair = curveKeyPair();
        clients.set(role, pair);
        allowed.add(encodeZ85(pair.publicKey));
      }
      return { curve: { serverKey: server.publicKey, publicKey: pair.publicKey, secretKey: pair.secretKey } };
    },
  };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string }; process?: { version: string } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (g.Bun) return `bun ${g.Bun.version}`;
  return `node ${g.process?.version ?? "?"}`;
}

/**
 * Runs the whole demo and returns its report. Everything it starts is stopped before it returns.
 *
 * @example
 * ```ts
 * const report = await runDemo({ image: "examples/forge/assets/sample.png", outDir: "out" });
 * console.log(report.steps);
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const input = new Uint8Array(await readFile(options.image));
  const inputPng = decodePng(input);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });

  const keys = options.curve ? curveKeys() : undefined;
  // A journal in memory: a watcher that joins late replays the pipeline's events (docs/durability.md).
  const broker = await startBroker({
    endpoints: ["tcp://127.0.0.1:0"],
    storage: { memory: true },
    ...(options.http === undefined ? {} : { http: { listen: options.http } }),
    ...(keys ? { curve: keys.server } : {}),
  });
  const cleanup: Array<() => Promise<void>> = [() => broker.close()];
  try {
    const endpoint = broker.endpoints[0]!;
    options.onBroker?.(broker.http === undefined ? { endpoint } : { endpoint, dashboard: `${broker.http}/` });
    const events = await ForgeEvents.connect(endpoint, { progressIntervalMs: 50, ...keys?.client("events") });
    cleanup.unshift(() => events.close());
    const feed = await watchForgeEvents(endpoint, { ...keys?.client("watcher") });
    cleanup.unshift(() => feed.close());
    const seen: ForgeEvent[] = [];
    const watching = (async () => {
      for await (const e of feed) seen.push(e);
    })();
    const backends = demoBackends();
    const forge = await serveForge(endpoint, backends, { events, ...keys?.client("workers") });
    cleanup.unshift(() => forge.close());
    const client = await connect(endpoint, forgeContracts, { defaultTimeout: 120_000, ...keys?.client("caller") });
    cleanup.unshift(() => client.close());

    let clip: ReturnType<typeof makeKiteClip> | undefined;
    const masks: Sam3FrameMasks[] = [];
    const flow = forgePipeline(client, options.seed === undefined ? {} : { seed: options.seed })
      .step("track", async (_audio, ctx) => {
        clip = makeKiteClip(ctx.results.generate.png);
        let summary: Sam3Summary | undefined;
        const stream = client.sam3.segment({
          video: { kind: "frames", frames: clip.frames.map((data) => ({ data, mimeType: "image/png" })), fps: 8 },
          prompts: [{ type: "point", frame: 0, x: clip.start.x, y: clip.start.y }],
        }, { signal: ctx.signal, deadline: ctx.deadline });
        for await (const chunk of stream) {
          if (chunk.type === "frame") masks.push(chunk);
          else if (chunk.type === "summary") summary = chunk;
        }
        if (!summary) throw new Error("sam3.segment ended without a summary");
        return summary;
      });
    const runOptions: Parameters<typeof flow.run>[1] = { timeoutMs: options.timeoutMs ?? 120_000 };
    if (options.signal) runOptions.signal = options.signal;
    if (options.onStep) runOptions.onStep = options.onStep;
    const { results, steps, totalMs } = await flow.run({ data: input, mimeType: "image/png" }, runOptions);
    const clientList = broker.stats().clientList;
    const security = {
      mechanism: keys ? "curve" as const : "null" as const,
      authenticatedClients: clientList.filter((c) => c.curveKey !== undefined).length,
    };
    if (keys && security.authenticatedClients !== clientList.length) {
      throw new Error(`--curve: ${clientList.length - security.authenticatedClients} connections without a CURVE key`);
    }

    const paths = {
      image: join(outDir, "generated.png"),
      audio: join(outDir, "narration.wav"),
      tracking: join(outDir, "tracking.apng"),
      description: join(outDir, "description.txt"),
      report: join(outDir, "report.json"),
    };
    await writeFile(paths.image, results.generate.png);
    await writeFile(paths.audio, results.narrate.audio);
    await writeFile(paths.tracking, encodeApng(drawMasks(clip!.frames, masks), 8));
    await writeFile(paths.description, results.describe.text + "\n");

    // Let the last events (the final "completed") arrive before counting them.
    const last = Date.now() + 1000;
    while (seen.filter((e) => e.kind === "completed").length < 4 && Date.now() < last) await new Promise((r) => setTimeout(r, 10));
    const byKind: Record<string, number> = {};
    for (const e of seen) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;

    const report: DemoReport = {
      note: "Demo backends stand in for the models: demo-image-stats describes measured image properties, demo-procedural renders a procedural scene, demo-formant is a formant synthesiser, demo-framediff tracks motion. None of them is Qwen3-VL, Z-Image, Kokoro or SAM 3.",
      runtime: runtimeName(),
      broker: endpoint,
      security,
      backends: { qwen3vl: backends.qwen3vl.name, zimage: backends.zimage.name, kokoro: backends.kokoro.name, sam3: backends.sam3.name },
      input: { path: options.image, width: inputPng.width, height: inputPng.height, bytes: input.length },
      description: { text: results.describe.text, finishReason: results.describe.finishReason, usage: results.describe.usage },
      image: { path: paths.image, width: results.generate.width, height: results.generate.height, seed: results.generate.seed, bytes: results.generate.png.length },
      audio: { path: paths.audio, format: results.narrate.format, sampleRate: results.narrate.sampleRate, duration: results.narrate.duration, bytes: results.narrate.audio.length },
      tracking: { path: paths.tracking, frames: results.track.frames, fps: results.track.fps, objects: results.track.objects },
      steps,
      totalMs,
      events: { total: seen.length, byKind },
    };
    await writeFile(paths.report, JSON.stringify(report, null, 2) + "\n");
    await feed.close();
    await watching;
    options.onReport?.(report);
    if (options.stay) await options.stay();
    return report;
  } finally {
    for (const step of cleanup) await step().catch(() => {});
  }
}
