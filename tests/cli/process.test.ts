// The real `malamute` process (spawned with this runtime): exit codes and one-line errors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { VERSION } from "../../src/cli/version.ts";
import { assertOneLineError, runCli } from "./helpers.ts";

describe("malamute process", () => {
  it("--version prints the version on stdout and exits 0", async () => {
    const result = await runCli(["--version"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), VERSION);
    assert.equal(result.stderr, "");
  });

  it("an unknown flag: one stderr line, no stack trace, exit 2", async () => {
    const result = await runCli(["recv", "--mailbox", "a", "--bogus"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(assertOneLineError(result.stderr), /unknown option '--bogus'.*malamute recv --help/);
  });

  it("a bad endpoint: one stderr line that shows the expected form, exit 2", async () => {
    const result = await runCli(["send", "--endpoint", "tcp://127.0.0.1", "--to", "a", "subject"]);
    assert.equal(result.code, 2);
    assert.match(assertOneLineError(result.stderr), /bad endpoint "tcp:\/\/127\.0\.0\.1": expected tcp:\/\/host:port/);
  });
});
