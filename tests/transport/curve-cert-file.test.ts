import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  loadCurveCert, loadCurveKeyPair, MAX_CERT_FILE_BYTES, resolveCurveKey, saveCurveCert,
} from "../../src/transport/curve-cert-file.ts";
import { curveKeyPair } from "../../src/zmtp/mechanism/curve/box.ts";
import { CurveCertError } from "../../src/zmtp/errors.ts";
import { encodeZ85 } from "../../src/zmtp/z85.ts";

const dir = mkdtempSync(join(tmpdir(), "malamute-certs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const fails = (code: string) => (e: unknown) => e instanceof CurveCertError && e.code === code;

describe("CURVE certificate files", () => {
  it("saveCurveCert writes NAME (0644) and NAME_secret (0600); both names load the pair", async () => {
    const pair = curveKeyPair();
    const name = join(dir, "broker");
    await saveCurveCert(name, { ...pair, metadata: { name: "broker" } });
    if (process.platform !== "win32") {
      assert.equal(statSync(`${name}_secret`).mode & 0o777, 0o600);
      assert.equal(statSync(name).mode & 0o777, 0o644);
    }
    assert.ok(!readFileSync(name, "utf8").includes("secret-key"));
    for (const path of [name, `${name}_secret`]) {
      const loaded = await loadCurveKeyPair(path);
      assert.deepEqual([loaded.publicKey, loaded.secretKey, loaded.metadata], [pair.publicKey, pair.secretKey, { name: "broker" }]);
    }
    assert.deepEqual((await loadCurveCert(name)).secretKey, undefined);
    await assert.rejects(saveCurveCert(name, curveKeyPair()), fails("CURVE_CERT_EXISTS"));
    assert.deepEqual((await loadCurveKeyPair(name)).publicKey, pair.publicKey, "the refused save changed nothing");
  });

  it("resolveCurveKey takes 40 Z85 characters or a certificate file", async () => {
    const pair = curveKeyPair();
    const name = join(dir, "server-pub");
    await saveCurveCert(name, pair);
    assert.deepEqual(await resolveCurveKey(encodeZ85(pair.publicKey)), pair.publicKey);
    assert.deepEqual(await resolveCurveKey(name), pair.publicKey);
    await assert.rejects(resolveCurveKey(join(dir, "nothing-here")), fails("CURVE_CERT_READ"));
  });

  it("a public certificate without its _secret: CURVE_CERT_NO_SECRET; a missing file: CURVE_CERT_READ", async () => {
    const name = join(dir, "lonely");
    await saveCurveCert(name, curveKeyPair());
    rmSync(`${name}_secret`);
    await assert.rejects(loadCurveKeyPair(name), fails("CURVE_CERT_NO_SECRET"));
    await assert.rejects(loadCurveKeyPair(join(dir, "absent")), fails("CURVE_CERT_READ"));
  });

  it("reads a file of exactly maxBytes; one byte more is CURVE_CERT_TOO_LARGE (default 64 KiB)", async () => {
    assert.equal(MAX_CERT_FILE_BYTES, 64 * 1024);
    const name = join(dir, "padded");
    await saveCurveCert(name, curveKeyPair());
    const text = readFileSync(name, "utf8");
    const padded = join(dir, "padded-cert");
    writeFileSync(padded, text + "#".repeat(1000) + "\n");
    const size = statSync(padded).size;
    assert.ok((await loadCurveCert(padded, { maxBytes: size })).publicKey.length === 32);
    await assert.rejects(loadCurveCert(padded, { maxBytes: size - 1 }), fails("CURVE_CERT_TOO_LARGE"));
    const huge = join(dir, "huge");
    writeFileSync(huge, "#".repeat(MAX_CERT_FILE_BYTES + 1));
    await assert.rejects(loadCurveCert(huge), fails("CURVE_CERT_TOO_LARGE"));
  });
});
