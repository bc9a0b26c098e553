// A worker in its own process, for the worker-loss test. Usage: child-worker.ts <endpoint>.
// Prints "ready" once it serves, then "started <callId>" when a call starts; the call then
// hangs until the parent kills this process.
import process from "node:process";
import { serve } from "../../src/rpc/worker/worker.ts";
import { job } from "./job-contract.ts";

const endpoint = process.argv[process.argv.length - 1] as string;
const worker = await serve(endpoint, job, {
  run: async (_input, ctx) => {
    process.stdout.write(`started ${ctx.callId}\n`);
    await new Promise(() => {});
    return { n: -1, worker: "child" };
  },
}, { concurrency: 1 });
process.stdout.write("ready\n");
void worker;
