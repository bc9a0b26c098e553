import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { curveKeyPair } from "../../src/zmtp/mechanism/curve/box.ts";
import { formatCurveCert, keyFromZ85, parseCurveCert } from "../../src/zmtp/mechanism/curve/cert.ts";
import { CurveCertError } from "../../src/zmtp/errors.ts";
import { decodeZ85, encodeZ85 } from "../../src/zmtp/z85.ts";

// libzmq's test key pair (tests/testutil_security.cpp), the pair of RFC 26's examples.
const SERVER_PUBLIC = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SERVER_SECRET = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

/** A secret certificate laid out as czmq's zcert_save writes it (zconfig: comments, 4-space indents, quoted values). */
const CZMQ_SECRET = `#   ****  Generated on 2015-03-04 10:12:25 by CZMQ  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

metadata
    name = "broker"
    email = "ops@example.com"
curve
    public-key = "${SERVER_PUBLIC}"
    secret-key = "${SERVER_SECRET}"
`;

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CurveCertError, String(e));
    assert.equal(e.name, "CurveCertError");
    return e.code;
  }
  return "none";
}

describe("CURVE certificates (czmq zcert format)", () => {
  it("reads a certificate in the layout czmq writes: both keys (checked to be a pair) and the metadata", () => {
    const cert = parseCurveCert(CZMQ_SECRET);
    assert.deepEqual(cert.publicKey, decodeZ85(SERVER_PUBLIC));
    assert.deepEqual(cert.secretKey, decodeZ85(SERVER_SECRET));
    assert.deepEqual(cert.metadata, { name: "broker", email: "ops@example.com" });
    const publicOnly = parseCurveCert(CZMQ_SECRET.replace(/^ {4}secret-key.*\n/m, ""));
    assert.equal(publicOnly.secretKey, undefined);
  });

  it("writes zcert_save's layout: header comments, metadata before curve, double-quoted values", () => {
    const pair = curveKeyPair();
    const files = formatCurveCert({ ...pair, metadata: { name: "worker-1" } }, new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    const publicZ85 = encodeZ85(pair.publicKey);
    assert.equal(files.public, [
      "#   ****  Generated on 2026-01-02 03:04:05 by malamute  ****",
      "#   ZeroMQ CURVE Public Certificate",
      "#   Exchange securely, or use a secure mechanism to verify the contents",
      "#   of this file after exchange. Store public certificates in your home",
      "#   directory, in the .curve subdirectory.",
      "",
      "metadata",
      '    name = "worker-1"',
      "curve",
      `    public-key = "${publicZ85}"`,
      "",
    ].join("\n"));
    assert.match(files.secret, /^#   ZeroMQ CURVE \*\*Secret\*\* Certificate$/m);
    assert.ok(files.secret.endsWith(`curve\n    public-key = "${publicZ85}"\n    secret-key = "${encodeZ85(pair.secretKey)}"\n`));
    assert.ok(!files.public.includes(encodeZ85(pair.secretKey)), "the public file holds no secret");
    const back = parseCurveCert(files.secret);
    assert.deepEqual([back.publicKey, back.secretKey, back.metadata], [pair.publicKey, pair.secretKey, { name: "worker-1" }]);
    assert.deepEqual(parseCurveCert(files.public).publicKey, pair.publicKey);
  });

  it("keys whose Z85 holds '#' survive (the quotes keep ZPL from taking it for a comment)", () => {
    // 0xff... encodes to "%nSc0" groups; find a key whose Z85 has '#' by construction.
    const pair = { publicKey: new Uint8Array(32), secretKey: new Uint8Array(32) };
    let found = false;
    for (let i = 0; i < 200 && !found; i++) {
      const p = curveKeyPair();
      if (encodeZ85(p.publicKey).includes("#") || encodeZ85(p.secretKey).includes("#")) {
        Object.assign(pair, p);
        found = true;
      }
    }
    assert.ok(found, "a key with '#' in its Z85 within 200 tries");
    const back = parseCurveCert(formatCurveCert(pair, new Date(0)).secret);
    assert.deepEqual([back.publicKey, back.secretKey], [pair.publicKey, pair.secretKey]);
  });

  it("refuses what cannot be a certificate, with typed codes", () => {
    assert.equal(code(() => parseCurveCert("curve\n  public-key = x\n")), "CURVE_CERT_SYNTAX");
    assert.equal(code(() => parseCurveCert("metadata\n    name = a\n")), "CURVE_CERT_NO_KEY");
    assert.equal(code(() => parseCurveCert('curve\n    public-key = "short"\n')), "CURVE_CERT_BAD_KEY");
    assert.equal(code(() => parseCurveCert(`curve\n    public-key = "${"~".repeat(40)}"\n`)), "CURVE_CERT_BAD_KEY");
    const other = encodeZ85(curveKeyPair().publicKey);
    assert.equal(code(() => parseCurveCert(CZMQ_SECRET.replace(SERVER_PUBLIC, () => other))), "CURVE_CERT_MISMATCH");
    const pair = curveKeyPair();
    assert.equal(code(() => formatCurveCert({ ...pair, metadata: { "bad name": "x" } }, new Date(0))), "CURVE_CERT_BAD_METADATA");
    assert.equal(code(() => formatCurveCert({ ...pair, metadata: { name: 'a"b' } }, new Date(0))), "CURVE_CERT_BAD_METADATA");
    assert.equal(code(() => formatCurveCert({ publicKey: curveKeyPair().publicKey, secretKey: pair.secretKey }, new Date(0))), "CURVE_CERT_MISMATCH");
    assert.equal(code(() => formatCurveCert({ publicKey: new Uint8Array(31), secretKey: pair.secretKey }, new Date(0))), "CURVE_CERT_BAD_KEY");
    assert.equal(code(() => keyFromZ85(SERVER_PUBLIC.slice(0, 39))), "CURVE_CERT_BAD_KEY");
  });
});
