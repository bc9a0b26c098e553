// Contracts shared by the RPC tests.
import Type from "typebox";
import { Bytes } from "../../src/rpc/bytes.ts";
import { defineService } from "../../src/rpc/contract.ts";

export const qwen3vl = defineService("qwen3vl", {
  infer: {
    input: Type.Object({ prompt: Type.String(), image: Type.Optional(Bytes()), maxTokens: Type.Optional(Type.Integer({ minimum: 1 })) }),
    output: Type.Object({ text: Type.String(), tokens: Type.Integer() }),
    progress: Type.Object({ tokens: Type.Integer() }),
    timeout: 20_000,
  },
  tokens: {
    input: Type.Object({ prompt: Type.String() }),
    chunk: Type.String(),
  },
}, { description: "vision-language model" });

export const zimage = defineService("zimage", {
  render: {
    input: Type.Object({ prompt: Type.String(), steps: Type.Integer({ minimum: 1, maximum: 100 }) }),
    output: Type.Object({ png: Bytes({ minBytes: 1 }), seed: Type.Number() }),
  },
});
