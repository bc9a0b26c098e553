/**
 * Typed RPC in one file: a broker, a worker and a client, all in this process.
 *
 *   npx tsx examples/rpc-basic.ts
 *   npx bun examples/rpc-basic.ts
 *   npx deno run -A examples/rpc-basic.ts
 *
 * In a real deployment the broker runs on its own (`npm run broker`), workers run next to
 * their GPU, and callers anywhere: only the endpoint changes.
 */
import Type from "typebox";
import { startBroker } from "../src/broker/server.ts";
import { Bytes, connect, defineService, RpcError, RpcHandlerError, serve } from "../src/rpc/mod.ts";

// 1. The contract: shared by callers and workers. Types come from the schemas.
const captioner = defineService("captioner", {
  caption: {
    input: Type.Object({ image: Bytes({ maxBytes: 10_000_000 }), style: Type.Union([Type.Literal("short"), Type.Literal("long")]) }),
    output: Type.Object({ text: Type.String(), tokens: Type.Integer() }),
    progress: Type.Object({ step: Type.Integer(), of: Type.Integer() }),
    timeout: 30_000,
  },
  words: {
    input: Type.Object({ text: Type.String() }),
    chunk: Type.String(),
  },
});

const broker = await startBroker({ endpoints: ["tcp://127.0.0.1:0"] });
const endpoint = broker.endpoints[0] as string;

// 2. A worker. concurrency 1: the broker never sends it a second call while one runs.
const worker = await serve(endpoint, captioner, {
  caption: async ({ image, style }, ctx) => {
    if (image.byteLength === 0) throw new RpcHandlerError("EMPTY_IMAGE", "the image has no bytes");
    for (let step = 1; step <= 3; step++) {
      ctx.signal.throwIfAborted();
      ctx.progress({ step, of: 3 });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const text = style === "short" ? "A cat." : `A cat on a ${image.byteLength}-byte mat.`;
    return { text, tokens: text.split(" ").length };
  },
  words: async function* ({ text }, ctx) {
    for (const word of text.split(" ")) {
      if (ctx.signal.aborted) return;
      yield word;
    }
  },
}, { concurrency: 1 });

// 3. A client: one connection for any number of concurrent calls.
const client = await connect(endpoint, { captioner });

const image = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const result = await client.captioner.caption({ image, style: "long" }, {
  onProgress: ({ step, of }) => console.log(`progress ${step}/${of}`),
});
console.log("caption:", result.text, `(${result.tokens} tokens)`);

const words: string[] = [];
for await (const word of client.captioner.words({ text: "streamed one word at a time" })) words.push(word);
console.log("words:", words);

// Errors carry stable codes: validation (checked before sending), handler codes, deadlines...
for (const attempt of [
  () => client.captioner.caption({ image, style: "medium" as "short" }),
  () => client.captioner.caption({ image: new Uint8Array(0), style: "short" }),
  () => client.captioner.caption({ image, style: "short" }, { timeout: 10 }),
  () => client.captioner.caption({ image, style: "short" }, { signal: AbortSignal.timeout(5) }),
]) {
  try {
    await attempt();
  } catch (error) {
    if (error instanceof RpcError) console.log(`${error.name} ${error.code}: ${error.message}`);
    else throw error;
  }
}

// The contract as JSON Schema, for callers and workers in other languages.
console.log(JSON.stringify(captioner.toJsonSchema()).slice(0, 120) + "…");

await client.close();
await worker.close();
await broker.close();
