import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCli } from "./helpers.ts";

describe("malamute broker --http", () => {
  it("serves /metrics at the given address, with the bearer token of the config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "malamute-http-"));
    try {
      const cfg = join(dir, "malamute.cfg");
      writeFileSync(cfg, ["mlm_server", "    http", "        listen = 127.0.0.1:1", "        bearer = tok", ""].join("\n"));
      const proc = startCli(["broker", "--bind", "tcp://127.0.0.1:0", "--config", cfg, "--http", "127.0.0.1:0", "--json"]);
      try {
        const started = JSON.parse(await proc.waitFor("stderr", /"broker started"/)) as { http: string };
        assert.match(started.http, /^http:\/\/127\.0\.0\.1:\d+$/);
        const refused = await fetch(`${started.http}/metrics`);
        await refused.body?.cancel();
        assert.equal(refused.status, 401);
        const ok = await fetch(`${started.http}/metrics`, { headers: { authorization: "Bearer tok" } });
        assert.equal(ok.status, 200);
        assert.match(await ok.text(), /^malamute_connections \d+$/m);
      } finally {
        await proc.stop("SIGTERM");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
