// libsodium's MESSAGE back end must produce and accept exactly noble's boxes (and so libzmq's).
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { boxKey, type CurveBoxes, curveKeyPair, curvePublicKey, nobleBoxes } from "../../src/zmtp/mechanism/curve/box.ts";
import { CurveClientMechanism, CurveServerMechanism } from "../../src/zmtp/mechanism/curve/mechanism.ts";
import { client, CurveProbe, pump, server } from "./curve-helpers.ts";
import { curveReady, loadedCurveBoxes } from "../../src/zmtp/mechanism/curve/sodium.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const C = enc("CurveZMQMESSAGEC");
const S = enc("CurveZMQMESSAGES");

describe("CURVE MESSAGE boxes on libsodium", () => {
  let sodium: CurveBoxes;
  before(async () => {
    sodium = await curveReady();
  });

  it("loads, and becomes the back end new connections get", () => {
    assert.equal(sodium.name, "sodium");
    assert.equal(loadedCurveBoxes(), sodium);
  });

  it("seals the same bytes as noble and each opens the other's, at every size class (scratch growth too)", () => {
    const a = curveKeyPair();
    const b = curveKeyPair();
    const key = boxKey(a.secretKey, b.publicKey);
    const s = sodium.messageBoxes(key, C, S);
    const n = nobleBoxes.messageBoxes(key, S, C);
    for (const size of [0, 1, 31, 32, 33, 4095, 4096, 4097, 70_000, 10, 200_000, 5]) {
      const tail = new Uint8Array([0, 0, 0, 0, 1, 2, 3, size & 255]);
      const plaintext = new Uint8Array(size).map((_, i) => (i * 13) & 255);
      const viaSodium = new Uint8Array(32 + size).fill(0xee);
      viaSodium.set(plaintext, 32);
      s.seal(tail, viaSodium);
      const viaNoble = new Uint8Array(32 + size);
      viaNoble.set(plaintext, 32);
      nobleBoxes.messageBoxes(key, C, S).seal(tail, viaNoble);
      assert.deepEqual(viaSodium.subarray(16), viaNoble.subarray(16), `size ${size}`);
      const framed = (box: Uint8Array) => {
        const f = new Uint8Array(8 + box.length);
        f.set(tail);
        f.set(box, 8);
        return f;
      };
      assert.deepEqual(n.open(framed(viaSodium.subarray(16)), 8, "MESSAGE"), plaintext);
      const back = new Uint8Array(32 + size);
      back.set(plaintext, 32);
      n.seal(tail, back);
      assert.deepEqual(s.open(framed(back.subarray(16)), 8, "MESSAGE"), plaintext);
    }
  });

  it("refuses a flipped byte, a wrong nonce and a box shorter than its tag", () => {
    const key = boxKey(curveKeyPair().secretKey, curveKeyPair().publicKey);
    const s = sodium.messageBoxes(key, C, C);
    const tail = new Uint8Array(8);
    const out = new Uint8Array(32 + 10);
    s.seal(tail, out);
    const frame = new Uint8Array(8 + 26);
    frame.set(out.subarray(16), 8);
    assert.deepEqual(s.open(frame, 8, "MESSAGE"), new Uint8Array(10));
    frame[28] = (frame[28] as number) ^ 1;
    assert.throws(() => s.open(frame, 8, "MESSAGE"), { code: "ZMTP_CURVE_BOX" });
    frame[28] = (frame[28] as number) ^ 1;
    frame[7] = 1;
    assert.throws(() => s.open(frame, 8, "MESSAGE"), { code: "ZMTP_CURVE_BOX" });
    assert.throws(() => s.open(new Uint8Array(8 + 15), 8, "MESSAGE"), { code: "ZMTP_MALFORMED_COMMAND" });
  });

  it("key agreement and public keys equal noble's; a low-order public key is refused", () => {
    const a = curveKeyPair();
    const b = curveKeyPair();
    assert.deepEqual(sodium.boxKey(a.secretKey, b.publicKey), boxKey(a.secretKey, b.publicKey));
    assert.deepEqual(sodium.publicKey(a.secretKey), curvePublicKey(a.secretKey));
    assert.throws(() => sodium.boxKey(a.secretKey, new Uint8Array(32)), { code: "ZMTP_CURVE_BOX" });
  });

  it("a sodium server and a noble client (and the reverse) complete the handshake and exchange frames", () => {
    for (const [serverBoxes, clientBoxes] of [[sodium, nobleBoxes], [nobleBoxes, sodium]] as const) {
      const a = new CurveProbe({ socketType: "DEALER", mechanism: new CurveClientMechanism({ serverKey: server.publicKey, ...client, boxes: clientBoxes }) });
      const b = new CurveProbe({ socketType: "ROUTER", mechanism: new CurveServerMechanism({ ...server, boxes: serverBoxes }) });
      a.session.start(0);
      b.session.start(0);
      pump(a, b);
      assert.deepEqual(b.ready?.curvePublicKey, client.publicKey);
      a.session.send([enc("up"), new Uint8Array(5000).fill(1)]);
      b.session.send([enc("down")]);
      pump(a, b);
      assert.deepEqual(b.messages.map((m) => m.map((f) => f.length)), [[2, 5000]]);
      assert.deepEqual(a.messages.map((m) => m.map((f) => new TextDecoder().decode(f))), [["down"]]);
    }
  });
});
