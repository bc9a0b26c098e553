// Type-level tests: the @ts-expect-error lines fail `tsc --noEmit` / `deno check` if the
// inferred types ever accept a wrong input or allow a wrong use of an output. The bodies
// are type-checked but never run against a broker; the runtime assertions check the same
// contracts from the other side (the client refuses the wrong input at run time too).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Static } from "typebox";
import { connect, type RpcClient } from "../../src/rpc/client/client.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import type { ChunkOf, InputOf, OutputOf, ProgressOf } from "../../src/rpc/contract.ts";
import type { Handlers, HandlerContext, RpcStream } from "../../src/rpc/types.ts";
import { assertValid } from "../../src/rpc/shared/validate.ts";
import { qwen3vl, zimage } from "./contracts.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
function expectType<T extends true>(_proof: T): void {}

type Client = RpcClient<{ qwen3vl: typeof qwen3vl; zimage: typeof zimage }>;

// Never called: only type-checked.
async function clientUses(client: Client): Promise<void> {
  const out = await client.qwen3vl.infer({ prompt: "describe", image: new Uint8Array(4) }, {
    timeout: 1000,
    signal: new AbortController().signal,
    onProgress: (p) => {
      const n: number = p.tokens;
      void n;
      // @ts-expect-error progress has no `text`
      void p.text;
    },
  });
  const text: string = out.text;
  void text;
  // @ts-expect-error wrong use of the output: `text` is a string, not a number
  const wrong: number = out.text;
  void wrong;
  // @ts-expect-error the output has no `image` field
  void out.image;

  // @ts-expect-error wrong input: prompt must be a string
  await client.qwen3vl.infer({ prompt: 42 });
  // @ts-expect-error wrong input: missing required prompt
  await client.qwen3vl.infer({});
  // @ts-expect-error wrong input: image must be a Uint8Array, not number[]
  await client.qwen3vl.infer({ prompt: "x", image: [1, 2, 3] });
  // @ts-expect-error unknown method
  await client.qwen3vl.train({ prompt: "x" });
  // @ts-expect-error unknown service
  void client.whisper;

  const render = await client.zimage.render({ prompt: "a cat", steps: 20 });
  const png: Uint8Array = render.png;
  void png;
  // @ts-expect-error a method without a progress schema takes no onProgress
  await client.zimage.render({ prompt: "a cat", steps: 20 }, { onProgress: () => {} });

  const stream: RpcStream<string> = client.qwen3vl.tokens({ prompt: "hi" });
  for await (const token of stream) {
    const s: string = token;
    void s;
    // @ts-expect-error chunks are strings
    const n: number = token;
    void n;
  }
  // @ts-expect-error streaming methods return an AsyncIterable, not a Promise
  await client.qwen3vl.tokens({ prompt: "hi" }).then(() => {});
}
void clientUses;

// Handlers: input and ctx are inferred; outputs are checked.
const goodHandlers: Handlers<typeof qwen3vl> = {
  infer: async (input, ctx) => {
    const prompt: string = input.prompt;
    const image: Uint8Array | undefined = input.image;
    void image;
    ctx.progress({ tokens: 1 });
    // @ts-expect-error progress value of the wrong shape
    ctx.progress({ tokens: "one" });
    const deadline: number = ctx.deadline;
    const signal: AbortSignal = ctx.signal;
    const caller: string = ctx.caller;
    const callId: string = ctx.callId;
    void [deadline, signal, caller, callId];
    return { text: prompt, tokens: 1 };
  },
  tokens: async function* (input) {
    yield input.prompt;
  },
};
void goodHandlers;

const badOutput: Handlers<typeof qwen3vl> = {
  // @ts-expect-error the handler returns a wrong output (tokens must be a number)
  infer: async () => ({ text: "x", tokens: "1" }),
  // @ts-expect-error a streaming handler yields wrong chunks
  tokens: async function* () {
    yield 1;
  },
};
void badOutput;

// @ts-expect-error a handler is missing
const missing: Handlers<typeof qwen3vl> = { infer: async () => ({ text: "", tokens: 0 }) };
void missing;

// serve() and connect() infer everything from the contracts, with no annotations.
async function inline(endpoint: string): Promise<void> {
  await serve(endpoint, zimage, {
    render: async (input, ctx) => {
      const steps: number = input.steps;
      ctx.signal.throwIfAborted();
      return { png: new Uint8Array(steps), seed: 1 };
    },
  }, { concurrency: 1 });
  await serve(endpoint, zimage, {
    // @ts-expect-error inline handler with a wrong output: png must be bytes
    render: async () => ({ png: "base64", seed: 1 }),
  });
  const client = await connect(endpoint, { zimage });
  const { seed } = await client.zimage.render({ prompt: "p", steps: 1 });
  const n: number = seed;
  void n;
  // @ts-expect-error steps must be a number
  await client.zimage.render({ prompt: "p", steps: "1" });
}
void inline;

// The helper types agree with the TypeBox schemas.
expectType<Equal<OutputOf<typeof qwen3vl.methods.infer>, Static<typeof qwen3vl.methods.infer.output>>>(true);
expectType<Equal<OutputOf<typeof qwen3vl.methods.infer>, { text: string; tokens: number }>>(true);
expectType<Equal<ProgressOf<typeof qwen3vl.methods.infer>, { tokens: number }>>(true);
expectType<Equal<ChunkOf<typeof qwen3vl.methods.tokens>, string>>(true);
expectType<Equal<InputOf<typeof qwen3vl.methods.tokens>, { prompt: string }>>(true);
expectType<Equal<ProgressOf<typeof zimage.methods.render>, never>>(true);
expectType<Equal<Parameters<HandlerContext<{ tokens: number }>["progress"]>[0], { tokens: number }>>(true);

describe("rpc inferred types", () => {
  it("the wrong inputs rejected at compile time are rejected at run time too", () => {
    for (const bad of [{ prompt: 42 }, {}, { prompt: "x", image: [1, 2, 3] }]) {
      assert.throws(() => assertValid(qwen3vl.methods.infer.input, bad, "input"), { code: "RPC_VALIDATION" });
    }
  });

  it("the handler outputs rejected at compile time are rejected at run time too", () => {
    assert.throws(() => assertValid(qwen3vl.methods.infer.output, { text: "x", tokens: "1" }, "output"), { code: "RPC_VALIDATION" });
    assert.throws(() => assertValid(qwen3vl.methods.tokens.chunk, 1, "chunk"), { code: "RPC_VALIDATION" });
  });
});
