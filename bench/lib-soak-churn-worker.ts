/**
 * The RPC worker of the soak's worker-churn attack (lib-soak-churn.ts), run in a process of its
 * own: `<runtime> bench/lib-soak-churn-worker.ts --soak-churn-worker <endpoint> <concurrency> <workMs>`.
 * Prints `ready` once it serves, then the call's number on a line of its own each time its
 * handler starts, so the soak counts handler runs per call across killed processes. Kept apart
 * from the attack so a worker loads only the RPC layer: it is started twice a second.
 */
import process from "node:process";
import Type from "typebox";
import { defineService } from "../src/rpc/contract.ts";
import { serve } from "../src/rpc/worker/worker.ts";

const Num = Type.Object({ n: Type.Integer() });

/** The echo service of the worker-churn attack. */
export const churn = defineService("soak-churn", { echo: { input: Num, output: Num } });

async function worker(endpoint: string, concurrency: number, workMs: number): Promise<void> {
  const w = await serve(endpoint, churn, {
    echo: async (x) => {
      process.stdout.write(`${x.n}\n`);
      if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
      return x;
    },
  }, { concurrency });
  w.on("error", () => {});
  process.stdout.write("ready\n");
}

const at = process.argv.indexOf("--soak-churn-worker");
if (at >= 0) await worker(process.argv[at + 1] as string, Number(process.argv[at + 2] ?? 32), Number(process.argv[at + 3] ?? 0));
