// A traced worker in its own process, for the tracing test. Usage: otel-child.ts front|back <endpoint>.
// Prints "ready" once it serves, and every span it ends as a `span <json>` line.
// `front` answers tracefront.ask by calling traceback.work; `back` serves traceback.
import process from "node:process";
import { connect } from "../../src/rpc/client/client.ts";
import { RpcError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { traceBack, traceFront } from "./otel-contract.ts";
import { installOtel, StdoutSpanExporter } from "./otel-setup.ts";

installOtel(() => new StdoutSpanExporter((line) => process.stdout.write(line)));
const role = process.argv[process.argv.length - 2];
const endpoint = process.argv[process.argv.length - 1] as string;
if (role === "front") {
  const client = await connect(endpoint, { traceBack });
  await serve(endpoint, traceFront, {
    ask: async ({ text }) => ({ text: `front(${(await client.traceBack.work({ text })).text})` }),
  });
} else {
  await serve(endpoint, traceBack, {
    work: ({ text }) => Promise.resolve({ text: `back(${text})` }),
    fail: () => Promise.reject(new RpcError("APP_BROKEN", "broken on purpose")),
  });
}
process.stdout.write("ready\n");
