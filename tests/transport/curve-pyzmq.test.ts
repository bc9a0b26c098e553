import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import type { PeerConnectInfo } from "../../src/transport/types.ts";
import { zmtp } from "../../src/transport/zmtp.ts";
import { curveKeyPair, encodeZ85 } from "../../src/zmtp/mod.ts";
import { next } from "./helpers.ts";

/** The first Python that can import zmq: $PYTHON, then python3 on the PATH, then the system one. */
function pythonWithZmq(): string {
  const candidates = [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ["-c", "import zmq; assert zmq.has('curve')"], { stdio: "ignore", timeout: 10_000 });
    if (r.status === 0) return c;
  }
  throw new Error(
    `no Python with pyzmq (CURVE) among ${candidates.join(", ")}: install python3-zmq (apt) or pyzmq (pip), or set PYTHON`,
  );
}

// A libzmq DEALER through pyzmq: CURVE client, multipart both ways, then prints what came back.
const CLIENT = `
import json, sys, zmq
endpoint, server_key, public, secret = sys.argv[1:5]
ctx = zmq.Context()
s = ctx.socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVTIMEO, 8000)
s.curve_serverkey = server_key.encode()
s.curve_publickey = public.encode()
s.curve_secretkey = secret.encode()
s.connect(endpoint)
s.send_multipart([b"hello", b"", b"x" * 70000])
got = s.recv_multipart()
s.send_multipart([b"second"])
got2 = s.recv_multipart()
print(json.dumps([[len(f) for f in got], got[0].decode(), got[-1].decode(), [f.decode() for f in got2]]))
s.close()
ctx.term()
`;

describe("CURVE interoperates with pyzmq (libzmq in a Python child process)", () => {
  it("a pyzmq CURVE DEALER ⇄ our ROUTER: handshake, client key authorized, multipart both ways", async () => {
    const python = pythonWithZmq();
    const server = curveKeyPair();
    const client = curveKeyPair();
    const router = zmtp.router({
      curve: { ...server, authorize: (key) => encodeZ85(key) === encodeZ85(client.publicKey) },
    });
    const endpoint = await router.bind("tcp://127.0.0.1:0");
    router.on("message", (id, frames) => router.send(id, [...frames, new TextEncoder().encode("pong")]));
    const connected = next<[Uint8Array, PeerConnectInfo]>(router, "connect");
    const child = spawn(python, ["-c", CLIENT, endpoint, encodeZ85(server.publicKey), encodeZ85(client.publicKey), encodeZ85(client.secretKey)]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.stderr.on("data", (d) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill(), 15_000);
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `python failed: ${err}`);
    const [sizes, first, last, second] = JSON.parse(out) as [number[], string, string, string[]];
    assert.deepEqual(sizes, [5, 0, 70000, 4]);
    assert.equal(first, "hello");
    assert.equal(last, "pong");
    assert.deepEqual(second, ["second", "pong"]);
    const [, info] = await connected;
    assert.deepEqual(info.curvePublicKey, client.publicKey);
    await router.close();
  });
});
