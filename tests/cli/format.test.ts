// Pure helpers of the CLI: content arguments, frame display, tables, sizes, log lines.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { resolveContent } from "../../src/cli/content.ts";
import { CliError } from "../../src/cli/errors.ts";
import { asText, formatDeliveryLine, formatTable, hexPreview, viewFrame } from "../../src/cli/format.ts";
import { lines } from "../../src/cli/io.ts";
import { createLogger } from "../../src/cli/log.ts";
import { parseSize } from "../../src/cli/options.ts";
import { memoryIo } from "./memory-io.ts";


describe("send content arguments", () => {
  it("text, @file, @@literal and - (stdin) each make one frame, in order", async () => {
    const io = memoryIo({ stdin: "from stdin", files: { "a.bin": new Uint8Array([0, 1, 2]) } });
    const frames = await resolveContent(["plain", "@a.bin", "@@at", "-"], io);
    assert.deepEqual(frames.map((f) => [...f]), [
      [...new TextEncoder().encode("plain")], [0, 1, 2], [...new TextEncoder().encode("@at")],
      [...new TextEncoder().encode("from stdin")],
    ]);
  });

  it("a missing @file is a usage error naming the file", async () => {
    await assert.rejects(resolveContent(["@nope.txt"], memoryIo()), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.equal(error.code, "CLI_FILE");
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /cannot read nope\.txt: no such file/);
      return true;
    });
  });

  it("stdin can feed one frame only", async () => {
    await assert.rejects(resolveContent(["-", "-"], memoryIo()), /one frame only/);
  });

  it("a bare @ is refused", async () => {
    await assert.rejects(resolveContent(["@"], memoryIo()), /@ must be followed by a file name/);
  });
});

describe("frame display", () => {
  it("valid UTF-8 without control characters is text; anything else is binary", () => {
    assert.equal(asText(new TextEncoder().encode("héllo\tworld\n")), "héllo\tworld\n");
    assert.equal(asText(new Uint8Array([0xff, 0xfe])), undefined);
    assert.equal(asText(new Uint8Array([0x41, 0x00])), undefined);
  });

  it("binary frames show their size and at most 16 bytes of hex", () => {
    const frame = new Uint8Array(40).map((_, i) => i);
    assert.equal(hexPreview(frame), "000102030405060708090a0b0c0d0e0f");
    assert.deepEqual(viewFrame(frame), { size: 40, hex: "000102030405060708090a0b0c0d0e0f" });
    assert.deepEqual(viewFrame(new Uint8Array([0xff]), "out/1-0.bin"), { size: 1, hex: "ff", file: "out/1-0.bin" });
  });

  it("a delivery is one readable line; odd values are quoted", () => {
    const line = formatDeliveryLine({
      kind: "mailbox", sender: "alice", address: "bob", subject: "two words", tracker: "t-1",
      content: [{ text: "hi\nthere" }, { size: 40, hex: "00ff" }, { size: 3, hex: "010203", file: "o/1-2.bin" }],
    });
    assert.equal(line, 'mailbox from=alice to=bob subject="two words" tracker=t-1 | "hi\\nthere" | <40 bytes 00ff…> | <3 bytes 010203 saved to o/1-2.bin>');
    assert.ok(!line.includes("\n"));
  });

  it("stream deliveries have no tracker shown", () => {
    const line = formatDeliveryLine({ kind: "stream", sender: "s", address: "weather", subject: "x", tracker: "", content: [] });
    assert.equal(line, "stream from=s to=weather subject=x");
  });

  it("tables align columns and right-align numbers", () => {
    assert.equal(
      formatTable(["name", "depth"], [["alice", 3], ["bob", 120]]),
      "name   depth\nalice      3\nbob      120",
    );
  });
});

describe("option values", () => {
  it("sizes accept units and max", () => {
    assert.equal(parseSize("65536"), 65536);
    assert.equal(parseSize("64KiB"), 65536);
    assert.equal(parseSize("10MB"), 10_000_000);
    assert.equal(parseSize("1g"), 1024 ** 3);
    assert.equal(parseSize("max"), Number.POSITIVE_INFINITY);
    assert.throws(() => parseSize("ten"), /expected a size/);
  });
});

describe("broker log lines", () => {
  const now = () => new Date("2025-01-02T03:04:05.000Z");

  it("text lines carry time, level, message and key=value fields", () => {
    const out: string[] = [];
    const log = createLogger({ level: "info", json: false, write: (l) => out.push(l), now });
    log.info("listening", { endpoint: "tcp://127.0.0.1:9999", note: "two words" });
    log.debug("hidden");
    assert.deepEqual(out, ['2025-01-02T03:04:05.000Z INFO  listening endpoint=tcp://127.0.0.1:9999 note="two words"\n']);
  });

  it("--json lines are one JSON object each, with level and fields", () => {
    const out: string[] = [];
    const log = createLogger({ level: "warn", json: true, write: (l) => out.push(l), now });
    log.info("hidden");
    log.error("bind failed", { endpoint: "tcp://x:1", error: Object.assign(new Error("in use"), { code: "BIND_FAILED" }) });
    assert.equal(out.length, 1);
    assert.deepEqual(JSON.parse(out[0] as string), {
      time: "2025-01-02T03:04:05.000Z", level: "error", msg: "bind failed", endpoint: "tcp://x:1", error: "in use [BIND_FAILED]",
    });
  });
});

describe("stdin lines", () => {
  it("split on LF and CRLF across chunk boundaries, keeping a last unterminated line", async () => {
    const chunks = ["a\r", "\nb", "c\n\nlast"].map((s) => new TextEncoder().encode(s));
    const got: string[] = [];
    for await (const line of lines((async function* () { yield* chunks; })())) got.push(line);
    assert.deepEqual(got, ["a", "bc", "", "last"]);
  });
});

