import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import Type from "typebox";
import { Bytes } from "../../src/rpc/bytes.ts";
import { connect } from "../../src/rpc/client/client.ts";
import { defineService } from "../../src/rpc/contract.ts";
import { RpcPayloadTooLargeError } from "../../src/rpc/errors.ts";
import { serve } from "../../src/rpc/worker/worker.ts";
import { rejection, type Rig, rig } from "./harness.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

const blob = defineService("blob", {
  echo: { input: Type.Object({ data: Bytes() }), output: Type.Object({ data: Bytes(), sum: Type.Integer() }) },
  make: { input: Type.Object({ size: Type.Integer() }), output: Type.Object({ data: Bytes() }) },
});

function pattern(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) data[i] = (i / 4096) & 255;
  data[size - 1] = 0xab;
  return data;
}

function checksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i += 4096) sum = (sum + (data[i] as number) * (i + 1)) % 1_000_000_007;
  return (sum + (data[data.length - 1] as number)) % 1_000_000_007;
}

describe("rpc payload sizes", () => {
  let r: Rig;
  beforeEach(async () => {
    // Room for a 64 MiB payload plus envelope in the broker's message, queue and mailbox limits.
    r = await rig({ maxMessageSize: 80 * MiB, serviceQueueBytes: 160 * MiB, mailboxBytes: 160 * MiB });
  });
  afterEach(async () => {
    await r.close();
  });

  for (const [label, size] of [["1 KiB", KiB], ["1 MiB", MiB], ["64 MiB", 64 * MiB]] as const) {
    it(`round-trips ${label} of binary both ways`, async () => {
      r.own(await serve(r.endpoint, blob, {
        echo: async ({ data }) => ({ data, sum: checksum(data) }),
        make: async ({ size: n }) => ({ data: pattern(n) }),
      }, { maxPayload: 72 * MiB }));
      const client = r.own(await connect(r.endpoint, { blob }, { maxPayload: 72 * MiB }));
      const sent = pattern(size);
      const out = await client.blob.echo({ data: sent });
      assert.equal(out.data.byteLength, size);
      assert.equal(out.sum, checksum(sent), "the worker received the bytes intact");
      assert.equal(checksum(out.data), checksum(sent), "the caller received the bytes intact");
      assert.equal(out.data.constructor, Uint8Array);
    });
  }

  it("an input over the client's maxPayload fails before sending with a clear error", async () => {
    const client = r.own(await connect(r.endpoint, { blob }, { maxPayload: MiB }));
    const error = await rejection(client.blob.echo({ data: new Uint8Array(MiB + 1) }));
    assert.ok(error instanceof RpcPayloadTooLargeError);
    assert.equal(error.code, "RPC_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /^input of blob\.echo is \d+ bytes, over the limit of 1048576 bytes$/);
    assert.equal(client.stats().calls, 0);
  });

  it("an input over the worker's maxPayload gets an RPC_PAYLOAD_TOO_LARGE reply; the worker keeps serving", async () => {
    r.own(await serve(r.endpoint, blob, {
      echo: async ({ data }) => ({ data, sum: 0 }),
      make: async ({ size }) => ({ data: new Uint8Array(size) }),
    }, { maxPayload: 64 * KiB }));
    const client = r.own(await connect(r.endpoint, { blob }));
    const error = await rejection(client.blob.echo({ data: new Uint8Array(100 * KiB) }));
    assert.equal(error.code, "RPC_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /over the limit of 65536 bytes/);
    assert.equal((await client.blob.echo({ data: new Uint8Array(10) })).data.byteLength, 10);
  });

  it("an output over the worker's maxPayload gets an RPC_PAYLOAD_TOO_LARGE reply", async () => {
    r.own(await serve(r.endpoint, blob, {
      echo: async ({ data }) => ({ data, sum: 0 }),
      make: async ({ size }) => ({ data: new Uint8Array(size) }),
    }, { maxPayload: 64 * KiB }));
    const client = r.own(await connect(r.endpoint, { blob }));
    const error = await rejection(client.blob.make({ size: 100 * KiB }));
    assert.equal(error.code, "RPC_PAYLOAD_TOO_LARGE");
    assert.match(error.message, /output is \d+ bytes/);
  });

  it("a progress value over the worker's maxPayload throws RpcPayloadTooLargeError in the handler, nothing is sent", async () => {
    const progress = defineService("progress", {
      run: {
        input: Type.Object({ size: Type.Integer() }),
        output: Type.Object({ refused: Type.String() }),
        progress: Type.Object({ data: Bytes() }),
      },
    });
    r.own(await serve(r.endpoint, progress, {
      run: async ({ size }, ctx) => {
        try {
          ctx.progress({ data: new Uint8Array(size) });
          return { refused: "" };
        } catch (error) {
          return { refused: error instanceof RpcPayloadTooLargeError ? error.code : String(error) };
        }
      },
    }, { maxPayload: 64 * KiB }));
    const client = r.own(await connect(r.endpoint, { progress }));
    const seen: number[] = [];
    const out = await client.progress.run({ size: 100 * KiB }, { onProgress: (p) => seen.push(p.data.byteLength) });
    assert.deepEqual(out, { refused: "RPC_PAYLOAD_TOO_LARGE" });
    assert.equal(seen.length, 0, "no progress was sent");
    assert.deepEqual(await client.progress.run({ size: 10 }, { onProgress: (p) => seen.push(p.data.byteLength) }), { refused: "" });
    assert.deepEqual(seen, [10]);
  });

  it("a call over the broker's message limit fails with RPC_RESOURCE_EXHAUSTED", async () => {
    const small = await rig({ maxMessageSize: 64 * KiB });
    try {
      small.own(await serve(small.endpoint, blob, {
        echo: async ({ data }) => ({ data, sum: 0 }),
        make: async ({ size }) => ({ data: new Uint8Array(size) }),
      }));
      const client = small.own(await connect(small.endpoint, { blob }));
      const error = await rejection(client.blob.echo({ data: new Uint8Array(100 * KiB) }));
      assert.equal(error.code, "RPC_RESOURCE_EXHAUSTED");
    } finally {
      await small.close();
    }
  });
});
