import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { encode } from "../../src/proto/mod.ts";
import { deliverHeader, exactConfirm, stringField } from "../../src/proto/splice.ts";

describe("deliverHeader", () => {
  const cases: [string, string, string, string][] = [
    ["alice", "svc", "echo", "t1"],
    ["", "", "", ""],
    ["héllo-ü", "日本", "subj\0x", "trk"],
    ["s".repeat(255), "a".repeat(255), "b".repeat(255), "c".repeat(255)],
  ];
  for (const [sender, address, subject, tracker] of cases) {
    it(`splices SERVICE-SEND and MAILBOX-SEND into their DELIVER (sender ${sender.length} chars)`, () => {
      const content = [Uint8Array.of(1, 2)];
      const service = encode({ type: "SERVICE_SEND", address, subject, tracker, timeout: 1234, content })[0]!;
      assert.deepEqual(
        deliverHeader(stringField(sender), service),
        encode({ type: "SERVICE_DELIVER", sender, address, subject, tracker, content })[0],
      );
      const mail = encode({ type: "MAILBOX_SEND", address, subject, tracker, timeout: 0, content })[0]!;
      assert.deepEqual(
        deliverHeader(stringField(sender), mail),
        encode({ type: "MAILBOX_DELIVER", sender, address, subject, tracker, content })[0],
      );
    });
  }

  it("leaves out bytes after the SEND's last field (decode ignores them)", () => {
    const send = encode({ type: "SERVICE_SEND", address: "a", subject: "s", tracker: "t", timeout: 5, content: [] })[0]!;
    const trailing = new Uint8Array(send.length + 3);
    trailing.set(send);
    trailing.set([9, 9, 9], send.length);
    assert.deepEqual(
      deliverHeader(stringField("x"), trailing),
      encode({ type: "SERVICE_DELIVER", sender: "x", address: "a", subject: "s", tracker: "t", content: [] })[0],
    );
  });
});

describe("exactConfirm", () => {
  it("is true for an encoded CONFIRM and false with bytes after its last field", () => {
    for (const [tracker, reason] of [["", ""], ["t1", "ok"], ["ü".repeat(100), "r".repeat(255)]] as const) {
      const header = encode({ type: "CONFIRM", tracker, code: 200, reason })[0]!;
      assert.equal(exactConfirm(header), true);
      const longer = new Uint8Array(header.length + 1);
      longer.set(header);
      assert.equal(exactConfirm(longer), false);
    }
  });
});
