// `malamute keygen` and CURVE on the command line: a broker process with --curve-keys, clients
// with --curve-server-key (Z85 or certificate file) and --curve-keys.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCurveKeyPair } from "../../src/transport/curve-cert-file.ts";
import { curvePublicKey } from "../../src/zmtp/mechanism/curve/box.ts";
import { decodeZ85, encodeZ85 } from "../../src/zmtp/z85.ts";
import { assertOneLineError, runCli, startCli } from "./helpers.ts";
import type { CliProcess } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "malamute-cli-curve-"));

describe("malamute keygen", () => {
  it("without --out prints a matching Z85 key pair; --out writes zcert files our loader reads, secret 0600, never overwritten", async () => {
    const [printed, saved] = await Promise.all([
      runCli(["keygen"]),
      runCli(["keygen", "--out", join(work, "k1"), "--name", "edge-1"]),
    ]);
    assert.equal(printed.code, 0, printed.stderr);
    const m = /^public-key: (.{40})\nsecret-key: (.{40})\n$/.exec(printed.stdout);
    assert.ok(m, printed.stdout);
    assert.equal(encodeZ85(curvePublicKey(decodeZ85(m[2]!))), m[1]);

    assert.equal(saved.code, 0, saved.stderr);
    const pair = await loadCurveKeyPair(join(work, "k1"));
    assert.match(saved.stdout, new RegExp(`^public-key: ${escape(encodeZ85(pair.publicKey))}$`, "m"));
    assert.deepEqual(pair.metadata, { name: "edge-1" });
    assert.match(readFileSync(join(work, "k1"), "utf8"), /^#   ZeroMQ CURVE Public Certificate$/m);
    if (process.platform !== "win32") assert.equal(statSync(join(work, "k1_secret")).mode & 0o777, 0o600);

    const again = await runCli(["keygen", "--out", join(work, "k1")]);
    assert.equal(again.code, 2);
    assert.match(assertOneLineError(again.stderr), /exists; not overwriting/);
    assert.deepEqual((await loadCurveKeyPair(join(work, "k1"))).secretKey, pair.secretKey);
  });
});

describe("CURVE between CLI processes", () => {
  let broker: CliProcess;
  let endpoint = "";
  let serverPublic = "";

  before(async () => {
    const made = await Promise.all([
      runCli(["keygen", "--out", join(work, "broker")]),
      runCli(["keygen", "--out", join(work, "alice")]),
    ]);
    for (const r of made) assert.equal(r.code, 0, r.stderr);
    serverPublic = encodeZ85((await loadCurveKeyPair(join(work, "broker"))).publicKey);
    broker = startCli(["broker", "--bind", "tcp://127.0.0.1:0", "--json", "--curve-keys", join(work, "broker")], { limitMs: 60_000 });
    const line = JSON.parse(await broker.waitFor("stderr", /"broker started"/)) as { endpoints: string[]; curvePublicKey?: string };
    endpoint = line.endpoints[0] as string;
    assert.equal(line.curvePublicKey, serverPublic);
  });

  after(async () => {
    await broker?.stop("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("send --curve-server-key FILE --curve-keys FILE reaches recv --curve-server-key Z85; stat lists the key", async () => {
    const recv = startCli(["recv", "--endpoint", endpoint, "--curve-server-key", serverPublic, "--mailbox", "bob", "--count", "1", "--wait", "15000", "--json"]);
    // The mailbox must exist before the send: wait until the broker lists bob.
    for (let i = 0; i < 100; i++) {
      const stat = await runCli(["stat", "--endpoint", endpoint, "--curve-server-key", join(work, "broker"), "--json"]);
      assert.equal(stat.code, 0, stat.stderr);
      const clients = (JSON.parse(stat.stdout) as { clientList: Array<{ address: string; curveKey?: string }> }).clientList;
      assert.ok(clients.every((c) => c.curveKey?.length === 40), "every connection carries its key");
      if (clients.some((c) => c.address === "bob")) break;
    }
    const sent = await runCli(["send", "--endpoint", endpoint, "--curve-server-key", join(work, "broker"), "--curve-keys", join(work, "alice"), "--to", "bob", "secret", "over curve"]);
    assert.equal(sent.code, 0, sent.stderr);
    const got = await recv.done;
    assert.equal(got.code, 0, got.stderr);
    const lines = got.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `recv --count 1 printed one line, got:\n${got.stdout}\nstderr:\n${got.stderr}`);
    const line = JSON.parse(lines[0] as string) as { subject: string; content: Array<{ text?: string }> };
    assert.deepEqual([line.subject, line.content[0]?.text], ["secret", "over curve"]);
  });

  it("a wrong --curve-server-key fails at once with one line (exit 1), not after --connect-timeout", async () => {
    const wrong = /^public-key: (.{40})$/m.exec((await runCli(["keygen"])).stdout)![1]!;
    const started = Date.now();
    const r = await runCli(["send", "--endpoint", endpoint, "--curve-server-key", wrong, "--connect-timeout", "60000", "--to", "x", "s", "b"], { limitMs: 30_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(assertOneLineError(r.stderr), /failed its security handshake.*--curve-server-key is the broker's public key/);
    assert.ok(Date.now() - started < 30_000);
  });

  it("bad flags: --curve-keys without --curve-server-key, an unreadable key file: one line, exit 2", async () => {
    const [alone, missing] = await Promise.all([
      runCli(["send", "--endpoint", endpoint, "--curve-keys", join(work, "alice"), "--to", "x", "s", "b"]),
      runCli(["send", "--endpoint", endpoint, "--curve-server-key", join(work, "nope"), "--to", "x", "s", "b"]),
    ]);
    assert.equal(alone.code, 2);
    assert.match(assertOneLineError(alone.stderr), /--curve-keys needs --curve-server-key/);
    assert.equal(missing.code, 2);
    assert.match(assertOneLineError(missing.stderr), /--curve-server-key: cannot read certificate/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
