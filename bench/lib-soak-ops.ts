/**
 * Soak attacks of the operational kind (issue 14, "How it is judged"): RPC calls expiring in a
 * queue, idle RPC clients after many calls, a stopped broker, a killed and restarted broker.
 * RPC clients and workers run in the soak process, through the public RPC API.
 */
import Type from "typebox";
import { defineService } from "../src/rpc/contract.ts";
import { connect, type RpcClient } from "../src/rpc/client/client.ts";
import { serve } from "../src/rpc/worker/worker.ts";
import type { RpcWorker } from "../src/rpc/worker/worker.ts";
import { SoakBroker } from "./lib-soak-broker.ts";
import { epochMs } from "./lib-soak-healthy.ts";
import { type Attack, pool, sleep } from "./lib-soak-run.ts";

const KiB = 1024;
const MiB = 1024 * 1024;
const Num = Type.Object({ n: Type.Integer() });
const echo = defineService("soak-echo", { ping: { input: Num, output: Num } });
const nobody = defineService("soak-nobody", { ping: { input: Num, output: Num } });
const other = defineService("soak-other", { ping: { input: Num, output: Num } });

/** Error codes of rejected calls, counted: "RPC_DEADLINE ×99000, RPC_UNAVAILABLE ×1000". */
function tally(outcomes: PromiseSettledResult<unknown>[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const key = o.status === "fulfilled" ? "ok" : String((o.reason as { code?: string }).code ?? (o.reason as Error).name);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(", ");
}

/** What an idle worker received, in total (calls, cancels, anything malformed). */
function receivedBy(worker: RpcWorker): number {
  const s = worker.stats();
  return s.received + s.cancels + s.malformed;
}

/**
 * 9. `calls` RPC calls with a `deadline` (ms) to a service nobody serves: they expire in the
 * broker's queue. Two idle workers of another service count what reaches them.
 */
export function expiringCalls(o: { calls: number; deadline: number }): Attack {
  return {
    name: "expiring queued calls",
    // The default 10,000-request queue would refuse most calls instead of letting them expire.
    broker: { config: `mlm_server\n    service\n        queue\n            count-limit = ${o.calls * 2}\n` },
    async run(ctx) {
      const workers = await Promise.all([0, 1].map(() => serve(ctx.broker.endpoint, other, { ping: (x) => x })));
      const client = await connect(ctx.broker.endpoint, { nobody });
      const t0 = performance.now();
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < o.calls; i++) calls.push(client.nobody.ping({ n: i }, { timeout: o.deadline }));
      const outcomes = await Promise.allSettled(calls);
      const settled = performance.now() - t0;
      await sleep(1000);
      const got = workers.map(receivedBy);
      return {
        notes: [
          `${o.calls} calls (${o.deadline} ms deadline) settled in ${(settled / 1000).toFixed(1)} s: ${tally(outcomes)}`,
          `idle workers of another service received ${got.join(" + ")} messages`,
        ],
        cleanup: async () => void await Promise.all([client.close(), ...workers.map((w) => w.close())]),
      };
    },
  };
}

/** Broker memory at one moment: V8 heap and external after a full GC (undefined without the probe), RSS. */
interface Figures {
  heap: number | undefined;
  external: number | undefined;
  rss: number;
}

/**
 * 10. Broker memory per idle RPC client (issue 14: "per-connection memory of an idle RPC
 * client after 10,000 calls must stay under 64 KiB in the broker"). One-time costs (JIT,
 * caches, the worker's own state) must not be spread over the clients, so: a warm-up client
 * makes `calls` calls and closes; then `clients` RPC clients connect and stay idle (heap after
 * a full GC, against the heap before them: the connection's own cost, per client); then each
 * makes `calls` calls and idles again (heap against the idle baseline: what the calls left
 * behind, per client); then all close (what is left of them, per client). External memory
 * (Buffers) and RSS deltas are given too, for what the heap does not show.
 */
export function idleRpcClients(o: { clients: number; calls: number }): Attack {
  const callsFrom = (client: RpcClient<{ echo: typeof echo }>): Promise<void> =>
    pool(o.calls, 32, async (i) => void await client.echo.ping({ n: i }));
  return {
    name: "idle RPC clients after calls",
    async run(ctx) {
      const worker = await serve(ctx.broker.endpoint, echo, { ping: (x) => x }, { concurrency: 64 });
      const clients: RpcClient<{ echo: typeof echo }>[] = [];
      const cleanup = async (): Promise<void> => void await Promise.all([...clients.map((c) => c.close()), worker.close()]);
      const settle = async (): Promise<Figures> => {
        await sleep(500);
        const m = await ctx.broker.memory();
        return { heap: m?.heapUsed, external: m?.external, rss: ctx.broker.sample() };
      };
      try {
        const warm = await connect(ctx.broker.endpoint, { echo });
        await callsFrom(warm);
        await warm.close();
        const before = await settle();
        for (let i = 0; i < o.clients; i++) clients.push(await connect(ctx.broker.endpoint, { echo }));
        const idle = await settle();
        const t0 = performance.now();
        await Promise.all(clients.map(callsFrom));
        const s = (performance.now() - t0) / 1000;
        const after = await settle();
        await Promise.all(clients.splice(0).map((c) => c.close()));
        const closed = await settle();
        const per = (from: number | undefined, to: number | undefined): string =>
          from === undefined || to === undefined ? "?" : `${((to - from) / o.clients / KiB).toFixed(1)} KiB`;
        const delta = (a: Figures, b: Figures): string =>
          `heap ${per(a.heap, b.heap)}, external ${per(a.external, b.external)}, RSS ${per(a.rss, b.rss)}`;
        return {
          notes: [
            `warm-up client: ${o.calls} calls, closed; then ${o.clients} clients × ${o.calls} calls in ${s.toFixed(1)} s (${Math.round((o.clients * o.calls) / s)}/s)`,
            `per connection (idle, before calls): ${delta(before, idle)}`,
            `growth per client after ${o.calls} calls: ${delta(idle, after)}`,
            `left per client after all closed: ${delta(before, closed)}`,
          ],
          cleanup,
        };
      } catch (error) {
        await cleanup();
        throw error;
      }
    },
  };
}

/** 11. SIGSTOP the broker for `stopMs`, then SIGCONT: when is the healthy client's session back? */
export function brokerStall(o: { stopMs: number }): Attack {
  return {
    name: "broker SIGSTOP/SIGCONT",
    async run(ctx) {
      ctx.broker.signal("SIGSTOP");
      await sleep(o.stopMs);
      const resumedAt = epochMs();
      ctx.broker.signal("SIGCONT");
      return { notes: [`stopped ${o.stopMs} ms`], resumedAt };
    },
  };
}

/**
 * 12. `calls` RPC calls (deadline `deadline` ms) are in flight, `concurrency` of them running on
 * a worker that takes `workMs` per call and the rest queued in the broker, when the broker is
 * killed (SIGKILL); it restarts on the same port `restartMs` later. How many calls finish,
 * how, and when (relative to the restart)?
 */
export function brokerKillRestart(o: { calls: number; concurrency: number; deadline: number; workMs: number; restartMs: number }): Attack {
  return {
    name: "broker kill -9 + restart",
    async run(ctx) {
      const slow = defineService("soak-slow", { work: { input: Num, output: Num } });
      const work = async (x: { n: number }, c: { signal: AbortSignal }): Promise<{ n: number }> => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.workMs);
          c.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve();
          });
        });
        return x;
      };
      const worker = await serve(ctx.broker.endpoint, slow, { work }, { concurrency: o.concurrency });
      const client = await connect(ctx.broker.endpoint, { slow });
      const settledAt: number[] = [];
      const calls = Array.from({ length: o.calls }, (_, i) =>
        client.slow.work({ n: i }, { timeout: o.deadline }).finally(() => settledAt.push(epochMs())));
      for (let i = 0; i < 50 && worker.stats().running < o.concurrency; i++) await sleep(20);
      const running = worker.stats().running;
      const oldPeak = ctx.broker.peakRss;
      await ctx.broker.kill();
      await ctx.broker.stop();
      await sleep(o.restartMs);
      ctx.broker = await SoakBroker.start({ port: ctx.broker.port });
      const resumedAt = epochMs();
      const outcomes = await Promise.allSettled(calls);
      const after = settledAt.map((t) => t - resumedAt).sort((a, b) => a - b);
      const late = after.filter((ms) => ms >= o.deadline - o.restartMs - 1000).length;
      const notes = [
        `${o.calls} calls, ${running} running at the kill; outcomes: ${tally(outcomes)}`,
        `settled (ms after the restart): first ${Math.round(after[0] ?? NaN)}, median ${Math.round(after[after.length >> 1] ?? NaN)}, last ${Math.round(after[after.length - 1] ?? NaN)}; ${late} waited out (most of) their ${o.deadline / 1000} s deadline`,
        `first broker peak RSS ${(oldPeak / MiB).toFixed(1)} MB`,
      ];
      return {
        notes, resumedAt,
        cleanup: async () => void await Promise.all([client.close(), worker.close()]),
      };
    },
  };
}
