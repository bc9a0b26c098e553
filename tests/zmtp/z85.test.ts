import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeZ85, encodeZ85, Z85Error } from "../../src/zmtp/mod.ts";

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));

describe("Z85 (ZMTP RFC 32)", () => {
  it("encodes and decodes the RFC's test vector", () => {
    const bytes = hex("864FD26FB559F75B");
    assert.equal(encodeZ85(bytes), "HelloWorld");
    assert.deepEqual(decodeZ85("HelloWorld"), bytes);
  });

  it("round-trips the RFC 26 example keys (libzmq's test keys)", () => {
    // From libzmq's tests: the server's public key in Z85 and in hex (curve_keypair output).
    const z = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const key = decodeZ85(z);
    assert.equal(key.length, 32);
    assert.equal(encodeZ85(key), z);
  });

  it("round-trips all byte values and the extremes of a group", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    assert.deepEqual(decodeZ85(encodeZ85(all)), all);
    assert.equal(encodeZ85(new Uint8Array([255, 255, 255, 255])), "%nSc0");
    assert.equal(encodeZ85(new Uint8Array(4)), "00000");
    assert.deepEqual(decodeZ85(""), new Uint8Array(0));
  });

  it("refuses bad input with typed errors", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof Z85Error);
        assert.equal(e.name, "Z85Error");
        return e.code;
      }
      return "none";
    };
    assert.equal(code(() => encodeZ85(new Uint8Array(3))), "Z85_BAD_LENGTH");
    assert.equal(code(() => decodeZ85("Hell")), "Z85_BAD_LENGTH");
    assert.equal(code(() => decodeZ85("Hell\"")), "Z85_BAD_CHARACTER");
    assert.equal(code(() => decodeZ85("Hell~")), "Z85_BAD_CHARACTER");
    assert.equal(code(() => decodeZ85("Hellé")), "Z85_BAD_CHARACTER");
    // "%nSc0" is 2^32 - 1, the largest group; "%nSc1" is one beyond.
    assert.deepEqual(decodeZ85("%nSc0"), new Uint8Array([255, 255, 255, 255]));
    assert.equal(code(() => decodeZ85("%nSc1")), "Z85_OVERFLOW");
    assert.equal(code(() => decodeZ85("#####")), "Z85_OVERFLOW");
  });
});
