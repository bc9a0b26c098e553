import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseBrokerConfig, parsePasswords } from "../../src/broker/config.ts";
import { BrokerError } from "../../src/broker/errors.ts";
import { parseZpl, zplNodes, zplValue } from "../../src/broker/zpl.ts";

const SAMPLE = `#   Malamute configuration

#   Apply to the whole broker
server
    timeout = 10000     #   Client connection timeout, msec
    background = 0      #   Run as background process
    workdir = .         #   Working directory for daemon
    verbose = 0         #   Do verbose logging of activity?
    auth
        verbose = 0
        plain = passwords.cfg

#   Apply to the Malamute service
mlm_server
    security
        mechanism = plain
    bind
        endpoint = ipc://@/malamute
        endpoint = tcp://*:9999
    bind
        endpoint = "tcp://127.0.0.1:9998"
    mailbox
        size-limit = 1048576
        size-warn = max
    service
        queue
            size-limit = 2048
            count-limit = 7
`;

describe("broker config: ZPL (C malamute.cfg)", () => {
  it("parses nested sections, comments, quoted and bare values", () => {
    const root = parseZpl(SAMPLE);
    assert.equal(zplValue(root, "server/timeout"), "10000");
    assert.equal(zplValue(root, "server/auth/plain"), "passwords.cfg");
    assert.deepEqual(zplNodes(root, "mlm_server/bind/endpoint").map((n) => n.value), [
      "ipc://@/malamute", "tcp://*:9999", "tcp://127.0.0.1:9998",
    ]);
    assert.equal(zplValue(root, "nothing/here"), undefined);
  });

  it("reads server/timeout, security, passwords file, bind endpoints and limits", () => {
    const cfg = parseBrokerConfig(SAMPLE);
    assert.equal(cfg.timeout, 10000);
    assert.equal(cfg.mechanism, "plain");
    assert.equal(cfg.passwordsFile, "passwords.cfg");
    assert.deepEqual(cfg.endpoints, ["tcp://*:9999", "tcp://127.0.0.1:9998"]);
    assert.equal(cfg.warnings.length, 1, "the ipc endpoint is reported, not bound");
    assert.match(cfg.warnings[0] as string, /ipc:\/\/@\/malamute/);
    assert.deepEqual(cfg.limits, {
      mailboxBytes: 1048576, mailboxWarnBytes: Infinity, serviceQueueBytes: 2048, serviceQueueMessages: 7,
    });
  });

  it("reads the hardening limits (issue 14) from their keys", () => {
    const cfg = parseBrokerConfig([
      "server", "    log", "        burst = 5", "        window = 1000",
      "mlm_server", "    stream", "        backlog", "            count-limit = 9", "            size-limit = 4096",
      "    limits", "        peer-send-messages = 100", "        peer-send-bytes = 65536", "        max-message-parts = 64",
      "        receive-budget = max", "        handshake-timeout = 2000", "        open-timeout = 3000",
      "        patterns-per-connection = 10", "        patterns-per-stream = 20", "        matches-per-turn = 500",
      "        expiries-per-turn = 50", "",
    ].join("\n"));
    assert.deepEqual(cfg.limits, {
      logBurst: 5, logWindow: 1000, streamBacklogMessages: 9, streamBacklogBytes: 4096, peerSendMessages: 100,
      peerSendBytes: 65536, maxMessageParts: 64, receiveBudget: Infinity, handshakeTimeout: 2000, openTimeout: 3000,
      patternsPerConnection: 10, patternsPerStream: 20, matchesPerTurn: 500,
      expiriesPerTurn: 50,
    });
  });

  it("reads the journal limits (issue 15) from their keys", () => {
    const cfg = parseBrokerConfig([
      "mlm_server", "    limits", "        consumers-per-connection = 3", "        durable-consumers = 4",
      "        journaled-streams = 5", "        replay-batch-messages = 6", "        replay-batch-bytes = 7", "",
    ].join("\n"));
    assert.deepEqual(cfg.limits, {
      consumersPerConnection: 3, durableConsumers: 4, journaledStreams: 5, replayBatchMessages: 6, replayBatchBytes: 7,
    });
  });

  it("the file the C broker writes by default is accepted", () => {
    const cfg = parseBrokerConfig(
      "server\n    timeout = 5000\n    background = 0\n    workdir = .\n    verbose = 0\nmlm_server\n    security\n        mechanism = null\n    bind\n        endpoint = tcp://127.0.0.1:9999\n",
    );
    assert.equal(cfg.timeout, 5000);
    assert.equal(cfg.mechanism, "null");
    assert.deepEqual(cfg.endpoints, ["tcp://127.0.0.1:9999"]);
  });

  for (const [name, text, pattern] of [
    ["bad indentation", "server\n  timeout = 1\n", /line 2: indentation/],
    ["too deep", "server\n        timeout = 1\n", /line 2: indented deeper/],
    ["bad name", "ser ver = 1\n", /line 1: invalid name/],
    ["unterminated quote", 'server\n    timeout = "10\n', /line 2: unterminated/],
    ["non-numeric timeout", "server\n    timeout = soon\n", /server\/timeout/],
    ["unknown mechanism", "mlm_server\n    security\n        mechanism = curve\n", /mechanism/],
  ] as const) {
    it(`rejects ${name} with BrokerError BROKER_CONFIG naming the problem`, () => {
      assert.throws(() => parseBrokerConfig(text), (e: unknown) => {
        assert.ok(e instanceof BrokerError);
        assert.equal(e.code, "BROKER_CONFIG");
        assert.match(e.message, pattern);
        return true;
      });
    });
  }

  it("reads name=password files with comments", () => {
    const users = parsePasswords("# users\nadmin=secret\n\n  bob = pw=with=equals \nbroken line\n");
    assert.deepEqual([...users], [["admin", "secret"], ["bob", "pw=with=equals"]]);
  });
});

describe("examples/malamute.cfg", () => {
  it("is a valid configuration for this broker", async () => {
    const { readFileSync } = await import("node:fs");
    const cfg = parseBrokerConfig(readFileSync(new URL("../../examples/malamute.cfg", import.meta.url), "utf8"));
    assert.deepEqual(cfg.endpoints, ["tcp://127.0.0.1:9999"]);
    assert.equal(cfg.timeout, 10000);
    assert.equal(cfg.mechanism, "null");
    assert.equal(cfg.limits.mailboxMessages, 10000);
    assert.deepEqual(cfg.warnings, []);
  });
});
