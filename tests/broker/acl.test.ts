// Issue 18 item 3: the ACL tied to a client's CURVE key, in the sans-I/O core, and its config.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileAcl, globMatch } from "../../src/broker/security/acl.ts";
import { parseBrokerConfig } from "../../src/broker/config.ts";
import { zcertPublicKey } from "../../src/broker/security/curve-cert.ts";
import { ACL_REFUSED, STREAM_SERVICE } from "../../src/broker/status.ts";
import { MemoryStore } from "../../src/storage/memory-store.ts";
import type { BrokerConfig } from "../../src/broker/types.ts";
import { Harness, mail, offer, OK, read, request, utf8, write } from "./harness.ts";
import type { Sent } from "./harness.ts";

const KEY_A = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const KEY_B = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const DENIED = { type: "ERROR", code: 300, reason: ACL_REFUSED };

const replies = (out: Sent[]): unknown[] => out.map((s) => s.message);

/** A core with `acl`; `conn` connected with CURVE key `key` (undefined: no key). */
function withKey(config: BrokerConfig, conn: string, key: string | undefined): Harness {
  const h = new Harness(config);
  h.event(key === undefined ? { type: "connect", conn } : { type: "connect", conn, curveKey: key });
  return h;
}

const gpu = { name: "gpu1", key: KEY_A, mailbox: "gpu1", send: "client-*", offer: "qwen3vl, zimage", request: "store", read: "forge.*", write: "forge.events" };

describe("ACL patterns", () => {
  it("`*` matches any run of characters, anything else only itself, the whole name", () => {
    assert.equal(globMatch("forge.*", "forge.events"), true);
    assert.equal(globMatch("forge.*", "forge."), true);
    assert.equal(globMatch("forge.*", "forge"), false);
    assert.equal(globMatch("forge.*", "xforge.events"), false);
    assert.equal(globMatch("*", ""), true);
    assert.equal(globMatch("a*b*c", "aXXbYYc"), true);
    assert.equal(globMatch("a*b*c", "aXXbYY"), false);
    assert.equal(globMatch("qwen3vl", "qwen3vl2"), false);
  });

  it("bad keys, a key listed twice and an unknown default are config errors", () => {
    assert.throws(() => compileAcl({ clients: [{ key: "short" }] }), { code: "BROKER_CONFIG" });
    assert.throws(() => compileAcl({ clients: [{ key: KEY_A }, { key: KEY_A }] }), { code: "BROKER_CONFIG" });
    assert.throws(() => compileAcl({ default: "maybe" as "allow", clients: [] }), { code: "BROKER_CONFIG" });
  });
});

describe("broker core: ACL by CURVE key (issue 18 item 3)", () => {
  const acl = { default: "deny" as const, clients: [gpu] };

  it("mailbox: OPEN with an allowed address works, another address gets ERROR 300 and no session", () => {
    const h = withKey({ acl }, "c", KEY_A);
    assert.deepEqual(replies(h.send("c", { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "gpu2" })), [DENIED]);
    assert.equal(h.core.stats().clients, 0);
    h.open("c", "gpu1");
    assert.equal(h.core.stats().clients, 1);
  });

  it("offer: an allowed service is accepted, a service not listed gets ERROR 300 and is not offered", () => {
    const h = withKey({ acl }, "c", KEY_A);
    h.open("c", "gpu1");
    h.ok("c", offer("zimage", ".*"));
    assert.deepEqual(replies(h.send("c", offer("zimage2", ".*"))), [DENIED]);
    assert.deepEqual(h.core.stats().clientList[0]?.offers, ["zimage"]);
  });

  it("read and write: allowed streams get OK, others ERROR 300; the session stays", () => {
    const h = withKey({ acl }, "c", KEY_A);
    h.open("c", "gpu1");
    h.ok("c", read("forge.jobs", ".*"));
    assert.deepEqual(replies(h.send("c", read("forge", ".*"))), [DENIED]);
    h.ok("c", write("forge.events"));
    assert.deepEqual(replies(h.send("c", write("forge.jobs"))), [DENIED]);
    const me = h.core.stats().clientList[0];
    assert.deepEqual([me?.reads, me?.writes], [["forge.jobs"], "forge.events"]);
  });

  it("send and request: refused tracked messages get CONFIRM 300 `not authorized`, untracked ones are dropped", () => {
    const h = withKey({ acl: { default: "deny", clients: [gpu, { key: KEY_B, mailbox: "client-*" }] } }, "c", KEY_A);
    h.open("c", "gpu1");
    h.event({ type: "connect", conn: "d", curveKey: KEY_B });
    h.open("d", "client-1");
    const delivered = h.send("c", mail("client-1", "s", "hi", "t1"));
    assert.deepEqual(delivered.map((m) => [m.conn, m.message.type]), [["d", "MAILBOX_DELIVER"]], "allowed address delivered");
    assert.deepEqual(replies(h.send("c", mail("other", "s", "hi", "t2"))), [{ type: "CONFIRM", tracker: "t2", code: 300, reason: ACL_REFUSED }]);
    assert.deepEqual(replies(h.send("c", mail("other", "s", "hi"))), []);
    assert.deepEqual(h.core.stats().mailboxes.map((m) => m.address), [], "nothing was queued for `other`");
    h.send("c", request("store", "put", "x", "t3"));
    assert.deepEqual(h.core.stats().services.map((s) => s.name), ["store"]);
    assert.deepEqual(replies(h.send("c", request("malamute.admin", "STATS", "", "t4"))), [{ type: "CONFIRM", tracker: "t4", code: 300, reason: ACL_REFUSED }]);
    assert.equal(h.core.stats().counters.aclRefused, 3);
  });

  it("default deny: an unlisted key and a connection without a key get only an anonymous session", () => {
    for (const key of [KEY_B, undefined]) {
      const h = withKey({ acl }, "c", key);
      assert.deepEqual(replies(h.send("c", { type: "CONNECTION_OPEN", protocol: "MALAMUTE", version: 1, address: "x" })), [DENIED]);
      h.open("c", "");
      assert.deepEqual(replies(h.send("c", write("s"))), [DENIED]);
      assert.deepEqual(replies(h.send("c", request("svc", "s", "b", "t"))), [{ type: "CONFIRM", tracker: "t", code: 300, reason: ACL_REFUSED }]);
    }
  });

  it("default allow (and no ACL at all): an unlisted key may use everything, a listed one only its rules", () => {
    const h = withKey({ acl: { clients: [gpu] } }, "free", KEY_B);
    h.open("free", "anything");
    h.ok("free", write("x"));
    h.ok("free", offer("svc", ".*"));
    h.event({ type: "connect", conn: "gpu", curveKey: KEY_A });
    h.open("gpu", "gpu1");
    assert.deepEqual(replies(h.send("gpu", write("x"))), [DENIED]);
    const none = withKey({}, "c", KEY_B);
    none.open("c", "y");
    none.ok("c", write("x"));
    assert.equal(none.core.stats().counters.aclRefused, 0);
  });

  it("read covers replay: malamute.stream READ of a stream the key may not read is refused", async () => {
    const store = new MemoryStore({ clock: { wallOf: (t) => t, coreOf: (t) => t, wallNow: () => 0 } });
    const h = new Harness({ acl: { default: "deny", clients: [{ ...gpu, request: STREAM_SERVICE }] }, storage: {} }, store);
    h.core.restore(await store.open());
    h.event({ type: "connect", conn: "c", curveKey: KEY_A });
    h.open("c", "gpu1");
    const answer = (stream: string) => {
      const out = h.send("c", request(STREAM_SERVICE, "READ", JSON.stringify({ stream, from: "first" })));
      const deliver = out.find((m) => m.message.type === "MAILBOX_DELIVER");
      return JSON.parse(new TextDecoder().decode((deliver?.message as { content: Uint8Array[] }).content[0]));
    };
    assert.deepEqual(answer("secret"), { ok: false, code: "NOT_AUTHORIZED", error: ACL_REFUSED });
    assert.notEqual(answer("forge.events").code, "NOT_AUTHORIZED");
    assert.equal(h.core.stats().counters.aclRefused, 1);
  });

  it("a listed client without a right may use nothing of that kind", () => {
    const h = withKey({ acl: { clients: [{ key: KEY_A, mailbox: "m" }] } }, "c", KEY_A);
    h.open("c", "m");
    assert.deepEqual(replies(h.send("c", read("s", ".*"))), [DENIED]);
  });

  it("the CURVE key is in stats().clientList (Z85), absent without CURVE", () => {
    const h = withKey({}, "c", KEY_A);
    h.event({ type: "connect", conn: "n" });
    const list = h.core.stats().clientList;
    assert.equal(list.find((c) => c.conn === "c")?.curveKey, KEY_A);
    assert.equal("curveKey" in (list.find((c) => c.conn === "n") ?? {}), false);
  });

  it("refusals are counted, and their log lines rate-limited", () => {
    const h = withKey({ acl, limits: { logBurst: 2, logWindow: 60_000 } }, "c", KEY_A);
    h.open("c", "gpu1");
    for (let i = 0; i < 5; i++) h.send("c", write("nope"));
    for (let i = 0; i < 4; i++) h.event({ type: "curve-refused", key: KEY_B, address: "10.0.0.1:5000" });
    const lines = h.actions.filter((a) => a.type === "log" && a.level === "warn").map((a) => (a as { message: string }).message);
    assert.deepEqual(lines, ["refused by the ACL", "refused by the ACL", "CURVE client key refused", "CURVE client key refused"]);
    const c = h.core.stats().counters;
    assert.deepEqual([c.aclRefused, c.curveRefused, c.logsSuppressed], [5, 4, 5]);
  });
});

describe("ACL in the config file (mlm_server/acl)", () => {
  it("default and named client sections with key and rights", () => {
    const cfg = parseBrokerConfig([
      "mlm_server",
      "    acl",
      "        default = deny",
      "        gpu1",
      `            key = "${KEY_A}"`,
      '            offer = "qwen3vl,zimage"',
      '            read = "forge.*"',
      "",
    ].join("\n"));
    assert.deepEqual(cfg.acl, { default: "deny", clients: [{ name: "gpu1", key: KEY_A, offer: "qwen3vl,zimage", read: "forge.*" }] });
    const rules = compileAcl(cfg.acl!).rulesFor(KEY_A);
    assert.equal(rules.allows("offer", "zimage"), true);
    assert.equal(rules.allows("read", "forge.events"), true);
    assert.equal(rules.allows("write", "forge.events"), false);
  });

  it("an unknown default is a config error", () => {
    assert.throws(() => parseBrokerConfig("mlm_server\n    acl\n        default = maybe\n"), { code: "BROKER_CONFIG" });
  });
});

describe("zcert public files", () => {
  it("reads curve/public-key; anything else is no key", () => {
    const cert = `#   ****  Generated on 2026-01-01 by CZMQ  ****\n#   ZeroMQ CURVE Public Certificate\n\nmetadata\n    name = "gpu1"\ncurve\n    public-key = "${KEY_A}"\n`;
    assert.equal(zcertPublicKey(cert), KEY_A);
    assert.equal(zcertPublicKey(cert.replace(KEY_A, KEY_A.slice(1))), undefined);
    assert.equal(zcertPublicKey(cert.replace(KEY_A, `${KEY_A.slice(1)}"`)), undefined);
    assert.equal(zcertPublicKey("curve\n    secret-key = \"x\"\n"), undefined);
    assert.equal(zcertPublicKey("\u0000garbage"), undefined);
    void utf8;
  });
});
