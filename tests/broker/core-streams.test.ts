import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cancel, credit, Harness, publish, read, subjects, text, utf8, write } from "./harness.ts";

function setup(): Harness {
  const h = new Harness();
  h.open("pub", "producer");
  h.ok("pub", write("weather"));
  return h;
}

/** "pub" and "pub2" write "weather"; "r" reads all of it. */
function twoWritersOneReader(): Harness {
  const h = setup();
  h.open("pub2", "producer2");
  h.ok("pub2", write("weather"));
  h.open("r", "reader");
  h.ok("r", read("weather", ".*"));
  return h;
}

describe("broker core: streams (mlm-protocol §7, design §3)", () => {
  it("STREAM-SEND is delivered as STREAM-DELIVER(stream, sender, subject) with the same content frames", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", "temp.*"));
    const body = utf8.encode("21");
    const out = h.send("pub", { type: "STREAM_SEND", subject: "temp.x", content: [body] });
    assert.equal(out.length, 1);
    assert.equal(out[0]?.conn, "r");
    assert.deepEqual(out[0]?.message, {
      type: "STREAM_DELIVER", address: "weather", sender: "producer", subject: "temp.x", content: [body],
    });
    assert.equal(out[0]?.frames[1], body, "content frames are passed through, not copied");
  });

  it("readers get only subjects their pattern matches (zrex search semantics)", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", "^temp"));
    assert.equal(h.send("pub", publish("xtemp")).length, 0);
    assert.equal(h.send("pub", publish("temperature")).length, 1);
    h.open("r2", "reader2");
    h.ok("r2", read("weather", "temp"));
    assert.deepEqual(h.send("pub", publish("xtempy")).map((s) => s.conn), ["r2"]);
  });

  it("no client receives its own stream messages", () => {
    const h = setup();
    h.ok("pub", read("weather", ".*"));
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    assert.deepEqual(h.send("pub", publish("a")).map((s) => s.conn), ["r"]);
  });

  it("each reader gets each message at most once, even when several of its patterns match", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", "temp"));
    h.ok("r", read("weather", ".*"));
    h.ok("r", read("weather", "temp")); // duplicate subscription
    assert.deepEqual(h.send("pub", publish("temp.x")).map((s) => s.conn), ["r"]);
  });

  it("fan-out encodes the delivery once: every reader gets the same frames", () => {
    const h = setup();
    for (let i = 0; i < 5; i++) {
      h.open(`r${i}`, `reader${i}`);
      h.ok(`r${i}`, read("weather", i % 2 ? "^t" : "x?"));
    }
    const out = h.send("pub", publish("t", "body"));
    assert.equal(out.length, 5);
    for (const s of out) assert.equal(s.frames, out[0]?.frames);
  });

  it("each delivery names its own sender and subject when writers and subjects alternate", () => {
    const h = twoWritersOneReader();
    const sent: [string, string][] = [
      ["pub", "a"], ["pub", "a"], ["pub", "b"], ["pub2", "b"], ["pub2", "b"], ["pub", "b"], ["pub", "a"],
    ];
    const got = sent.map(([from, subject]) => {
      const out = h.send(from, publish(subject, `${from}/${subject}`));
      assert.equal(out.length, 1);
      const m = out[0]?.message as { sender: string; subject: string; content: Uint8Array[] };
      return [m.sender, m.subject, text(m.content[0]!)];
    });
    assert.deepEqual(got, sent.map(([from, subject]) => [
      from === "pub" ? "producer" : "producer2", subject, `${from}/${subject}`,
    ]));
  });

  it("streams are live only: nothing is kept for readers who subscribe later", () => {
    const h = setup();
    assert.deepEqual(h.send("pub", publish("early")), []);
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    assert.deepEqual(h.send("pub", publish("late")).map((s) => s.conn), ["r"]);
    assert.equal(h.core.stats().counters.dropped, 0);
  });

  it("STREAM-WRITE replaces the client's single writer stream", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    h.ok("r", read("traffic", ".*"));
    h.ok("pub", write("traffic"));
    const out = h.send("pub", publish("jam"));
    assert.equal(out.length, 1);
    assert.equal((out[0]?.message as { address: string }).address, "traffic");
  });

  it("any number of clients may write the same stream; the sender field tells them apart", () => {
    const h = twoWritersOneReader();
    const a = h.send("pub", publish("x"));
    const b = h.send("pub2", publish("x"));
    assert.equal((a[0]?.message as { sender: string }).sender, "producer");
    assert.equal((b[0]?.message as { sender: string }).sender, "producer2");
  });

  it("STREAM-CANCEL drops all of the client's patterns on that stream and only that stream", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", "a"));
    h.ok("r", read("weather", "b"));
    h.ok("r", read("other", ".*"));
    h.ok("r", cancel("weather"));
    assert.deepEqual(h.send("pub", publish("ab")), []);
    h.ok("pub", write("other"));
    assert.equal(h.send("pub", publish("ab")).length, 1);
  });

  it("STREAM-CANCEL of an unknown stream is answered OK and creates nothing", () => {
    const h = new Harness();
    h.open("r", "reader");
    h.ok("r", cancel("nothing"));
    assert.deepEqual(h.core.stats().streams, []);
  });

  it("delivery order to a reader is publish order", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    const got: string[] = [];
    for (let i = 0; i < 20; i++) got.push(...subjects(h.send("pub", publish(`m${i}`))));
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it("anonymous writers publish with an empty sender", () => {
    const h = new Harness();
    h.open("anon", "");
    h.ok("anon", write("s"));
    h.open("r", "reader");
    h.ok("r", read("s", ".*"));
    const out = h.send("anon", publish("x", "y"));
    assert.equal((out[0]?.message as { sender: string }).sender, "");
    assert.equal(text((out[0]?.message as { content: Uint8Array[] }).content[0]), "y");
  });

  it("a credit-aware reader without credit gets stream messages buffered, then in order on CREDIT", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    h.send("r", credit(1));
    assert.equal(h.send("pub", publish("m1")).length, 1);
    assert.deepEqual(h.send("pub", publish("m2")), []);
    assert.deepEqual(h.send("pub", publish("m3")), []);
    assert.equal(h.core.stats().counters.queued, 2);
    assert.deepEqual(subjects(h.send("r", credit(5))), ["m2", "m3"]);
    assert.deepEqual(subjects(h.send("pub", publish("m4"))), ["m4"]);
  });

  it("a full per-reader stream buffer drops messages and counts them", () => {
    const h = new Harness({ limits: { streamBufferMessages: 2 } });
    h.open("pub", "producer");
    h.ok("pub", write("weather"));
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    h.send("r", credit(0));
    for (let i = 0; i < 5; i++) h.send("pub", publish(`m${i}`));
    assert.equal(h.core.stats().counters.dropped, 3);
    assert.deepEqual(subjects(h.send("r", credit(10))), ["m0", "m1"]);
  });

  it("the per-reader buffer is also bounded by bytes", () => {
    const h = new Harness({ limits: { streamBufferBytes: 100 } });
    h.open("pub", "producer");
    h.ok("pub", write("weather"));
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    h.send("r", credit(0));
    h.send("pub", publish("a", "x".repeat(60)));
    h.send("pub", publish("b", "x".repeat(60)));
    assert.equal(h.core.stats().counters.dropped, 1);
    assert.deepEqual(subjects(h.send("r", credit(10))), ["a"]);
  });

  it("a reader with credit gets other readers' buffering without delay", () => {
    const h = setup();
    h.open("slow", "slow");
    h.ok("slow", read("weather", ".*"));
    h.send("slow", credit(0));
    h.open("fast", "fast");
    h.ok("fast", read("weather", ".*"));
    assert.deepEqual(h.send("pub", publish("x")).map((s) => s.conn), ["fast"]);
  });

  it("an idle stream (no writer, no reader) is reclaimed", () => {
    const h = setup();
    h.open("r", "reader");
    h.ok("r", read("weather", ".*"));
    assert.deepEqual(h.core.stats().streams, [{ name: "weather", readers: 1, writers: 1 }]);
    h.ok("r", cancel("weather"));
    h.ok("pub", write("elsewhere"));
    assert.deepEqual(h.core.stats().streams, [{ name: "elsewhere", readers: 0, writers: 1 }]);
    h.disconnect("pub");
    assert.deepEqual(h.core.stats().streams, []);
  });
});
