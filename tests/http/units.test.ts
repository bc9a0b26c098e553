import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBrokerConfig } from "../../src/broker/config.ts";
import { BrokerError } from "../../src/broker/errors.ts";
import { TrafficCounter } from "../../src/broker/traffic.ts";
import { encode } from "../../src/proto/mod.ts";
import { Histogram } from "../../src/http/histogram.ts";
import { jobBody, JOB_DECODE_MAX_BYTES } from "../../src/http/job.ts";
import { parseListen } from "../../src/http/listen.ts";
import { encodeValue } from "../../src/rpc/wire/codec.ts";

describe("http units", () => {
  it("Histogram: quantiles interpolate within buckets; a baseline limits them to later values", () => {
    const h = new Histogram([1, 10, 100]);
    assert.equal(h.quantile(0.5), null);
    for (let i = 0; i < 99; i++) h.record(0.5);
    h.record(50);
    assert.ok(h.quantile(0.5)! <= 1);
    assert.ok(h.quantile(0.999)! > 10 && h.quantile(0.999)! <= 100);
    const base = h.snapshot();
    h.record(500);
    assert.equal(h.quantile(0.5, base), 100, "beyond the last bound reports that bound");
    assert.equal(h.count, 101);
  });

  it("parseListen: host:port, loopback by default, IPv6 in brackets; rejects the rest", () => {
    assert.deepEqual(parseListen("127.0.0.1:8222"), { host: "127.0.0.1", port: 8222 });
    assert.deepEqual(parseListen(":8222"), { host: "127.0.0.1", port: 8222 });
    assert.deepEqual(parseListen("8222"), { host: "127.0.0.1", port: 8222 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    assert.deepEqual(parseListen("0.0.0.0:65535"), { host: "0.0.0.0", port: 65535 });
    for (const bad of ["", "host", "1.2.3.4:65536", "::1:80", "http://x:1"]) {
      assert.throws(() => parseListen(bad), (e: unknown) => e instanceof BrokerError && e.code === "BROKER_CONFIG", bad);
    }
  });

  it("config file: mlm_server/http with listen and bearer, or username and password", () => {
    assert.deepEqual(parseBrokerConfig("mlm_server\n    http\n        listen = 127.0.0.1:8222\n        bearer = tok\n").http,
      { listen: "127.0.0.1:8222", auth: { bearer: "tok" } });
    assert.deepEqual(parseBrokerConfig("mlm_server\n    http\n        listen = :9\n        username = a\n        password = b\n").http,
      { listen: ":9", auth: { username: "a", password: "b" } });
    assert.equal(parseBrokerConfig("mlm_server\n    timeout = 1\n").http, undefined);
    assert.throws(() => parseBrokerConfig("mlm_server\n    http\n        listen = :9\n        username = a\n"),
      (e: unknown) => e instanceof BrokerError && e.code === "BROKER_CONFIG");
  });

  it("TrafficCounter: counts messages by MLM command and every frame's bytes", () => {
    const t = new TrafficCounter();
    const send = encode({ type: "SERVICE_SEND", address: "s", subject: "x", tracker: "", timeout: 0, content: [new Uint8Array(10)] });
    t.in(send);
    t.in(send);
    t.in([new Uint8Array(1)]);
    t.out(encode({ type: "CONNECTION_PONG" }));
    const s = t.snapshot();
    assert.deepEqual(s.kindsIn, { SERVICE_SEND: 2, UNKNOWN: 1 });
    assert.deepEqual(s.kindsOut, { CONNECTION_PONG: 1 });
    assert.equal(s.messagesIn, 3);
    assert.equal(s.bytesIn, 2 * (send[0]!.byteLength + 10) + 1);
  });

  it("jobBody: JSON, else msgpack with bytes as sizes; null when neither or too large", () => {
    assert.deepEqual(jobBody(new TextEncoder().encode('{"a":1}')), { a: 1 });
    assert.deepEqual(jobBody(encodeValue({ kind: "done", png: new Uint8Array(7), n: 2n ** 40n })), { kind: "done", png: { bytes: 7 }, n: 2 ** 40 });
    assert.equal(jobBody(Uint8Array.of(0x92, 0x01)), null);
    assert.equal(jobBody(undefined), null);
    const big = new TextEncoder().encode(JSON.stringify("x".repeat(JOB_DECODE_MAX_BYTES)));
    assert.equal(jobBody(big), null);
    const atLimit = new TextEncoder().encode(JSON.stringify("x".repeat(JOB_DECODE_MAX_BYTES - 2)));
    assert.equal(jobBody(atLimit), "x".repeat(JOB_DECODE_MAX_BYTES - 2));
  });
});
