// `call` input and output conversions, and the `stat` tables (pure functions, no broker).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatStats } from "../../src/cli/actions/stat.ts";
import { splitTarget } from "../../src/cli/commands/call.ts";
import { extractBinary, parseCallInput } from "../../src/cli/values.ts";
import { memoryIo } from "./memory-io.ts";

describe("call input", () => {
  it("JSON text, @file and - (stdin) all parse; no input means {}", async () => {
    const io = memoryIo({ stdin: '{"from":"stdin"}', files: { "in.json": '{"from":"file"}' } });
    assert.deepEqual(await parseCallInput('{"a":[1,2]}', io), { a: [1, 2] });
    assert.deepEqual(await parseCallInput("@in.json", io), { from: "file" });
    assert.deepEqual(await parseCallInput("-", io), { from: "stdin" });
    assert.deepEqual(await parseCallInput(undefined, io), {});
  });

  it('{"$file"} becomes the file\'s bytes and {"$base64"} the decoded bytes, at any depth', async () => {
    const io = memoryIo({ files: { "cat.png": new Uint8Array([137, 80, 78, 71]) } });
    const input = await parseCallInput('{"image":{"$file":"cat.png"},"list":[{"$base64":"AQID"}],"keep":{"$file":1}}', io) as {
      image: Uint8Array; list: Uint8Array[]; keep: unknown;
    };
    assert.ok(input.image instanceof Uint8Array);
    assert.deepEqual([...input.image], [137, 80, 78, 71]);
    assert.deepEqual([...(input.list[0] as Uint8Array)], [1, 2, 3]);
    assert.deepEqual(input.keep, { $file: 1 });
  });

  it("bad JSON is a usage error that says where it came from", async () => {
    await assert.rejects(parseCallInput("{nope", memoryIo()), /the input argument is not JSON/);
    await assert.rejects(parseCallInput("@bad.json", memoryIo({ files: { "bad.json": "[" } })), /bad\.json is not JSON/);
  });

  it("the target splits at the last dot", () => {
    assert.deepEqual(splitTarget("forge.images.resize"), { service: "forge.images", method: "resize" });
    assert.throws(() => splitTarget("nodot"), /is not service\.method/);
  });
});

describe("call output", () => {
  it("byte fields are replaced by {$file, size} and listed for writing; other values stay", () => {
    const png = new Uint8Array([1, 2, 3]);
    const { json, files } = extractBinary({ image: png, frames: [new Uint8Array(2)], label: "cat", n: 2 }, "out", "render");
    assert.deepEqual(json, {
      image: { $file: "out/render.image.bin", size: 3 },
      frames: [{ $file: "out/render.frames.0.bin", size: 2 }],
      label: "cat",
      n: 2,
    });
    assert.deepEqual(files.map((f) => [f.path, f.bytes.length]), [["out/render.image.bin", 3], ["out/render.frames.0.bin", 2]]);
    assert.equal(files[0]?.bytes, png);
  });

  it("without a folder, byte fields show their size and first bytes and nothing is to be written (issue 20 #13)", () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
    const { json, files } = extractBinary({ png: bytes, w: 2 }, undefined, "render");
    assert.deepEqual(json, { png: { size: 20, hex: "000102030405060708090a0b0c0d0e0f" }, w: 2 });
    assert.deepEqual(files, []);
  });

  it("a bare byte result gets the method's name; a path separator in a key cannot leave --out", () => {
    assert.deepEqual(extractBinary(new Uint8Array(4), ".", "blob").json, { $file: "blob.bin", size: 4 });
    assert.equal(extractBinary({ "../x": new Uint8Array(1) }, "o", "m").files[0]?.path, "o/m..._x.bin");
  });
});

describe("stat tables", () => {
  it("lists mailboxes with depth, streams with readers, services with workers and queue, and counters", () => {
    const text = formatStats({
      clients: 3,
      connections: 4,
      mailboxes: [{ address: "alice", depth: 2, bytes: 512 }],
      streams: [],
      services: [{ name: "images", workers: 2, queued: 5, bytes: 2048, inflight: 1 }],
      counters: {
        delivered: 10, queued: 1, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0,
        connectionsExpired: 0, connectionsRefused: 0, withdrawn: 0, droppedCongested: 0, subscriptionsRefused: 0,
      openTimeouts: 0, logsSuppressed: 0, stored: 0, recovered: 0, replayed: 0, storageRefused: 0, aclRefused: 0, curveRefused: 0,
      },
      clientList: [],
      held: 0,
    });
    assert.match(text, /^clients: 3 \(connections: 4\)\n/);
    assert.match(text, /\nmailboxes:\n  address  depth  bytes\n  alice        2    512\n/);
    assert.match(text, /\nstreams: none\n/);
    assert.match(text, /\nservices:\n  service  workers  queued  bytes  in flight\n  images         2       5   2048          1\n/);
    assert.match(text, /\n  delivered +10\n/);
  });

  it("lists clients: address, connection, idle time, credit, streams read and written, services offered", () => {
    const counters = {
      delivered: 0, queued: 0, expired: 0, dropped: 0, malformed: 0, confirmed: 0, failed: 0, requeued: 0,
      connectionsExpired: 0, connectionsRefused: 0, withdrawn: 0, droppedCongested: 0, subscriptionsRefused: 0,
      openTimeouts: 0, logsSuppressed: 0, stored: 0, recovered: 0, replayed: 0, storageRefused: 0, aclRefused: 0, curveRefused: 0,
    };
    const client = {
      conn: "0a0b", address: "worker-1", opened: true, idleMs: 12_345, creditAware: true, credit: 7, writes: "",
      reads: ["weather", "news"], offers: ["images"], inflight: 2, buffered: 0, congested: false,
    };
    const text = formatStats({
      clients: 1, connections: 3, mailboxes: [], streams: [], services: [], counters, held: 0,
      clientList: [client, { ...client, conn: "0c", address: "", opened: false, idleMs: 5, creditAware: false, reads: [], offers: [], inflight: 0 }],
    });
    assert.match(text, /\nclients:\n  address +conn +idle +credit +reads +writes +offers +in flight +buffered\n/);
    assert.match(text, /\n  worker-1 +0a0b +12\.3s +7 +weather,news +- +images +2 +0\n/);
    assert.match(text, /\n  \(not open\) +0c +5ms +- +- +- +- +0 +0\n/);
    assert.match(text, /\n  … and 1 more\n/);
    // A broker without a client list (older version): no clients section at all.
    const { clientList: _omit, ...older } = { clients: 0, connections: 0, mailboxes: [], streams: [], services: [], counters, clientList: [] };
    assert.doesNotMatch(formatStats(older as unknown as Parameters<typeof formatStats>[0]), /\nclients:/);
  });
});
