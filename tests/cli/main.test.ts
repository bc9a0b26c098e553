// main() in-process: parsing, help, version and one-line usage errors (no broker needed).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { VERSION } from "../../src/cli/version.ts";
import { root } from "./helpers.ts";
import { memoryIo } from "./memory-io.ts";

const COMMANDS = ["broker", "send", "recv", "call", "stat"];

function oneLine(text: string): string {
  const lines = text.split("\n").filter((line) => line !== "");
  assert.equal(lines.length, 1, `expected one line, got:\n${text}`);
  return lines[0] as string;
}

describe("malamute CLI: parsing, help, version", () => {
  it("VERSION equals package.json version", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    assert.equal(VERSION, pkg.version);
  });

  it("--version prints the version and exits 0", async () => {
    const io = memoryIo();
    assert.equal(await main(["--version"], io), 0);
    assert.equal(io.out.trim(), VERSION);
  });

  it("--help lists every command and shows examples", async () => {
    const io = memoryIo();
    assert.equal(await main(["--help"], io), 0);
    for (const command of COMMANDS) assert.match(io.out, new RegExp(`^  ${command} `, "m"));
    assert.match(io.out, /Examples:/);
  });

  for (const command of COMMANDS) {
    it(`${command} --help shows its usage and examples that use it`, async () => {
      const io = memoryIo();
      assert.equal(await main([command, "--help"], io), 0);
      assert.match(io.out, new RegExp(`^Usage: malamute ${command} `, "m"));
      assert.match(io.out, new RegExp(`Examples:\\n  \\$ malamute ${command}`));
      assert.equal(io.err, "");
    });
  }

  it("`help <command>` is the same as `<command> --help`", async () => {
    const a = memoryIo();
    const b = memoryIo();
    await main(["help", "recv"], a);
    await main(["recv", "--help"], b);
    assert.equal(a.out, b.out);
  });

  it("a bare `malamute` prints the help to stderr and exits 2", async () => {
    const io = memoryIo();
    assert.equal(await main([], io), 2);
    assert.match(io.err, /Usage: malamute/);
  });

  it("an unknown flag is one line that points at the command's --help, exit 2", async () => {
    const io = memoryIo();
    assert.equal(await main(["send", "--to", "a", "s", "--frobnicate"], io), 2);
    const line = oneLine(io.err);
    assert.match(line, /^malamute: unknown option '--frobnicate'/);
    assert.match(line, /`malamute send --help`/);
  });

  it("an unknown command suggests the nearest one", async () => {
    const io = memoryIo();
    assert.equal(await main(["sned"], io), 2);
    assert.match(oneLine(io.err), /unknown command 'sned'.*Did you mean send\?/);
  });

  it("a bad endpoint is refused before any connection, exit 2", async () => {
    for (const endpoint of ["tcp://nohost", "udp://127.0.0.1:1", "127.0.0.1:9999"]) {
      const io = memoryIo();
      assert.equal(await main(["stat", "--endpoint", endpoint], io), 2, endpoint);
      assert.match(oneLine(io.err), /bad endpoint/);
    }
  });

  it("MALAMUTE_ENDPOINT is checked like --endpoint", async () => {
    const io = memoryIo({ env: {} });
    const saved = process.env.MALAMUTE_ENDPOINT;
    process.env.MALAMUTE_ENDPOINT = "tcp://broken";
    try {
      assert.equal(await main(["stat"], io), 2);
      assert.match(oneLine(io.err), /bad endpoint "tcp:\/\/broken"/);
    } finally {
      if (saved === undefined) delete process.env.MALAMUTE_ENDPOINT;
      else process.env.MALAMUTE_ENDPOINT = saved;
    }
  });

  it("an invalid --pattern is refused before any connection, exit 2 (issue 20 item 9)", async () => {
    for (const flag of ["--stream", "--service"]) {
      const io = memoryIo();
      // Port 9 (discard) has no broker: reaching the network would fail differently.
      assert.equal(await main(["recv", flag, "x", "--pattern", "((", "--endpoint", "tcp://127.0.0.1:9"], io), 2);
      assert.match(oneLine(io.err), /^malamute: invalid --pattern "\(\(": .*; see docs\/patterns\.md/);
    }
  });

  it("numbers are checked: --count must be a whole number ≥ 1", async () => {
    for (const value of ["x", "0", "-1", "1.5"]) {
      const io = memoryIo();
      assert.equal(await main(["recv", "--mailbox", "a", "--count", value], io), 2, value);
      assert.match(oneLine(io.err), /--count <n>' argument '.*' is invalid: expected a whole number/);
    }
  });

  it("--transport accepts only zmtp or zeromq", async () => {
    const io = memoryIo();
    assert.equal(await main(["broker", "--transport", "udp"], io), 2);
    assert.match(oneLine(io.err), /Allowed choices are zmtp, zeromq/);
  });

  it("send and recv need exactly one destination", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["send", "subject"], /missing destination: give --to, --service or --stream/],
      [["send", "--to", "a", "--stream", "b", "subject"], /give only one of --to, --service or --stream/],
      [["recv"], /missing destination: give --mailbox, --stream or --service/],
      [["recv", "--mailbox", "a", "--service", "b"], /give only one of/],
    ];
    for (const [args, expected] of cases) {
      const io = memoryIo();
      assert.equal(await main(args, io), 2, args.join(" "));
      assert.match(oneLine(io.err), expected);
    }
  });

  it("call wants service.method", async () => {
    for (const target of ["nodot", ".method", "service."]) {
      const io = memoryIo();
      assert.equal(await main(["call", target], io), 2, target);
      assert.match(oneLine(io.err), /is not service\.method/);
    }
  });

  it("excess positional arguments are refused", async () => {
    const io = memoryIo();
    assert.equal(await main(["stat", "extra"], io), 2);
    assert.match(oneLine(io.err), /too many arguments/);
  });
});
