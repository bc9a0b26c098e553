/**
 * Soak: the broker under hostile peers, stalls and restarts (issue 14, "How it is judged").
 * One attack at a time, each against a fresh broker child (`node --import tsx
 * src/broker/main.ts` on a free loopback port), while a healthy client in its own process
 * does mailbox round trips. Per attack: broker RSS (baseline → peak, /proc VmRSS every
 * 100 ms), the healthy round trip's p50/p99/max, whether the broker survived (still runs and
 * answers OPEN and PING on a new connection), recovery where the broker stops or restarts,
 * and what the attack saw. Measures; never asserts.
 *
 *   npx tsx bench/soak.ts | npx bun bench/soak.ts | npx deno run -A bench/soak.ts
 *   SOAK_ONLY=churn,slowloris npx tsx bench/soak.ts      # some attacks only (by key, see below)
 *
 * Sizes come from SOAK_* environment variables (defaults in `attacks()` below; SOAK_SECONDS, 3,
 * bounds most attacks); SOAK_BROKER_ARGS adds broker arguments to every attack. A broker whose
 * RSS passes SOAK_RSS_CAP_MB (default 2048) is killed and reported as not surviving.
 */
import process from "node:process";
import { type BenchRow, report, runtimeName } from "./lib.ts";
import { HAS_PROC } from "./lib-soak-broker.ts";
import { workerChurn } from "./lib-soak-churn.ts";
import { brokerKillRestart, brokerStall, expiringCalls, idleRpcClients } from "./lib-soak-ops.ts";
import { type Attack, envNumber, runAttack, type SoakResult } from "./lib-soak-run.ts";
import {
  connectionChurn, emptyFrameFlood, hugeDeclaredLengths, hugeServiceSends, idleClients, slowloris, stalledReader,
  subscriptionAmplification,
} from "./lib-soak-wire.ts";

const MiB = 1024 * 1024;
const seconds = envNumber("SOAK_SECONDS", 3);

/** Every attack, keyed for SOAK_ONLY, with its sizes. */
function attacks(): [key: string, attack: Attack][] {
  const cap = envNumber("SOAK_RSS_CAP_MB", 2048) * MiB;
  const list: [string, Attack][] = [
    ["empty-frames", emptyFrameFlood({ seconds: envNumber("SOAK_EMPTY_FRAME_SECONDS", 5), maxBytes: envNumber("SOAK_EMPTY_FRAME_MB", 256) * MiB })],
    ["huge-lengths", hugeDeclaredLengths({ connections: envNumber("SOAK_HUGE_CONNECTIONS", 40), size: 255 * MiB, seconds })],
    ["huge-sends", hugeServiceSends({ count: envNumber("SOAK_BIG_SENDS", 2), size: envNumber("SOAK_BIG_SEND_MB", 200) * MiB })],
    ["stalled-no-credit", stalledReader({ credit: false, seconds, size: 1024 })],
    ["stalled-credit", stalledReader({ credit: 1000, seconds, size: 1024 })],
    ["slowloris", withBroker(slowloris({ sockets: envNumber("SOAK_SLOWLORIS_SOCKETS", 80), seconds: envNumber("SOAK_SLOWLORIS_SECONDS", 8) }),
      ["--timeout", String(envNumber("SOAK_SLOWLORIS_TIMEOUT_MS", 2000))])],
    ["churn", connectionChurn({ connections: envNumber("SOAK_CHURN", 5000), concurrency: 50 })],
    ["amplification", subscriptionAmplification({
      patterns: envNumber("SOAK_PATTERNS", 10_000), publishes: envNumber("SOAK_PUBLISHES", 10), contentSize: 2600,
    })],
    ["idle-clients", idleClients({ clients: envNumber("SOAK_IDLE_CLIENTS", 1000), seconds })],
    ["expiring-calls", expiringCalls({ calls: envNumber("SOAK_EXPIRING_CALLS", 100_000), deadline: envNumber("SOAK_EXPIRING_DEADLINE_MS", 1000) })],
    ["idle-rpc", idleRpcClients({ clients: envNumber("SOAK_RPC_CLIENTS", 20), calls: envNumber("SOAK_RPC_CALLS", 10_000) })],
    ["worker-churn", workerChurn({
      calls: envNumber("SOAK_CHURN_CALLS", 20_000), killEvery: envNumber("SOAK_CHURN_KILL_MS", 500),
      workers: envNumber("SOAK_CHURN_WORKERS", 4), inFlight: 64, concurrency: 32,
      workMs: envNumber("SOAK_CHURN_WORK_MS", 40), deadline: 30_000,
    })],
    ["sigstop", brokerStall({ stopMs: envNumber("SOAK_STOP_MS", 5000) })],
    ["kill-restart", brokerKillRestart({
      calls: envNumber("SOAK_RESTART_CALLS", 40), concurrency: 8, deadline: 15_000, workMs: 500,
      restartMs: envNumber("SOAK_RESTART_MS", 1000),
    })],
  ];
  // SOAK_BROKER_ARGS: extra broker arguments for every attack, e.g. "--verbose".
  const extra = (process.env.SOAK_BROKER_ARGS ?? "").split(" ").filter((a) => a !== "");
  for (const [, attack] of list) attack.broker = { ...attack.broker, rssCap: cap, args: [...(attack.broker?.args ?? []), ...extra] };
  const only = (process.env.SOAK_ONLY ?? "").split(",").filter((k) => k !== "");
  return list.filter(([key]) => only.length === 0 || only.includes(key));
}

function withBroker(attack: Attack, args: string[]): Attack {
  attack.broker = { ...attack.broker, args: [...(attack.broker?.args ?? []), ...args] };
  attack.name += ` (broker ${args.join(" ")})`;
  return attack;
}

const ms = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? "–" : v < 10 ? v.toFixed(2) : v.toFixed(0));

function table(results: SoakResult[]): string {
  const lines = [
    "| attack | broker RSS MB baseline → peak | healthy p50 / p99 / max ms (n) | survived | recovery | notes |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const l = r.latency;
    const latency = l ? `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)} (${l.count})` : "–";
    const recovery = r.recoveryMs === undefined ? "" : `${r.recoveryMs} ms`;
    lines.push(`| ${r.name} | ${r.baselineMB} → ${r.peakMB} | ${latency} | ${r.survived ? "yes" : "NO"} | ${recovery} | ${r.notes.join("; ")} |`);
  }
  return lines.join("\n");
}

if (!HAS_PROC) console.log("note: no /proc here, so broker RSS and fd counts read as 0 / -1 (everything else is measured)");
const results: SoakResult[] = [];
for (const [key, attack] of attacks()) {
  process.stderr.write(`soak: ${key}...\n`);
  const t0 = performance.now();
  const result = await runAttack(attack);
  result.notes.push(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
  results.push(result);
}
console.log(table(results));
const rows: BenchRow[] = results.map((r) => ({
  bench: "soak",
  case: r.name,
  impl: "broker",
  runtime: runtimeName(),
  ...(r.latency ? { p50us: Math.round(r.latency.p50 * 1000), p99us: Math.round(r.latency.p99 * 1000) } : {}),
  note: `RSS ${r.baselineMB} → ${r.peakMB} MB; max ${ms(r.latency?.max)} ms; ${r.survived ? "survived" : "DID NOT SURVIVE"}` +
    `${r.recoveryMs === undefined ? "" : `; recovery ${r.recoveryMs} ms`}; ${r.notes.join("; ")}`,
  // Machine-readable extras (BenchRow consumers ignore them).
  rssBaselineMB: r.baselineMB,
  rssPeakMB: r.peakMB,
  maxMs: r.latency?.max,
  survived: r.survived,
  ...(r.recoveryMs === undefined ? {} : { recoveryMs: r.recoveryMs }),
} as BenchRow));
report(rows);
process.exit(0);
