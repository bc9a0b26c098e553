import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ByteWriter } from "../../src/storage/byte-writer.ts";
import {
  BodyReader, decodeCursor, decodeDone, decodeJournal, decodePut, decodeSegmentHeader, encodeCursor, encodeDone, encodeJournal,
  encodePut, encodeSegmentHeader, FORMAT_VERSION, journalRecordSize, putRecordSize, RECORD_HEADER, RecordType, segmentHeaderSize, SegmentKind,
} from "../../src/storage/codec.ts";
import { scanRecords } from "../../src/storage/scan.ts";
import { crc, record, utf8 } from "./helpers.ts";

const MAX = 1 << 20;

/** Every record of `bytes` from `start`, decoded. */
function decodeAll(bytes: Uint8Array, start: number, limit = bytes.byteLength) {
  const out: unknown[] = [];
  const reader = new BodyReader();
  const scan = scanRecords(bytes, start, limit, MAX, crc, (type, b, view, body, end) => {
    reader.reset(b, view, body, end);
    const r = type === RecordType.PUT ? decodePut(reader) : type === RecordType.DONE ? decodeDone(reader)
      : type === RecordType.JOURNAL ? decodeJournal(reader) : decodeCursor(reader);
    if (r === undefined) return false;
    out.push(r);
  });
  return { out, scan };
}

/** A small log: header and one record of each type, with the record boundaries. */
function smallLog(): { bytes: Uint8Array; bounds: number[] } {
  const w = new ByteWriter(16);
  encodeSegmentHeader(w, SegmentKind.QUEUE, 0, "", crc);
  const bounds = [w.length];
  encodePut(w, record(1, { sender: "é", subject: "日本", deadline: 5 }), 12345.5, crc, MAX);
  bounds.push(w.length);
  encodeDone(w, 1, crc, MAX);
  bounds.push(w.length);
  encodeCursor(w, "s", "c", 9, crc, MAX);
  bounds.push(w.length);
  encodeJournal(w, { seq: 3, sender: "p", subject: "x", content: [] }, 77, crc, MAX);
  bounds.push(w.length);
  return { bytes: w.bytes.slice(0, w.length), bounds };
}

describe("storage codec", () => {
  it("round-trips every record type, with UTF-8 strings, empty and several frames, infinite deadlines", () => {
    const w = new ByteWriter(8);
    const put = record(7, { kind: "service", sender: "", address: "svc", subject: "ünï 🐕", tracker: "t", content: [new Uint8Array(0), utf8.encode("ab"), new Uint8Array(70_000).fill(3)] });
    assert.equal(encodePut(w, put, Infinity, crc, MAX), putRecordSize(put));
    encodeDone(w, 2 ** 52, crc, MAX);
    const j = { seq: 42, sender: "pub", subject: "a.b", content: [utf8.encode("x")] };
    assert.equal(encodeJournal(w, j, 1.5e12, crc, MAX), journalRecordSize(j));
    encodeCursor(w, "stream", "consumer", 41, crc, MAX);
    const { out, scan } = decodeAll(w.bytes.subarray(0, w.length), 0);
    assert.equal(scan.stop, "end");
    assert.deepEqual(out, [
      { id: 7, kind: "service", sender: "", address: "svc", subject: "ünï 🐕", tracker: "t", deadline: Infinity, content: put.content.map((f) => new Uint8Array(f)) },
      2 ** 52,
      { seq: 42, time: 1.5e12, sender: "pub", subject: "a.b", content: [utf8.encode("x")] },
      { stream: "stream", consumer: "consumer", seq: 41 },
    ]);
  });

  it("refuses a record over maxRecordBytes or a string over 65535 bytes, writing nothing", () => {
    const w = new ByteWriter(8);
    const limit = 1000;
    // At the limit: body (type + fields + frames) of exactly `limit` bytes is accepted.
    const fixed = putRecordSize(record(1, { content: [] })) - RECORD_HEADER;
    const atLimit = record(1, { content: [new Uint8Array(limit - fixed - 4)] });
    assert.equal(putRecordSize(atLimit) - RECORD_HEADER, limit);
    assert.equal(encodePut(w, atLimit, 0, crc, limit), limit + RECORD_HEADER);
    const before = w.length;
    assert.equal(encodePut(w, record(2, { content: [new Uint8Array(limit - fixed - 3)] }), 0, crc, limit), -1);
    assert.equal(encodePut(w, record(3, { subject: "x".repeat(65_536) }), 0, crc, MAX), -1);
    assert.equal(encodeCursor(w, "s", "é".repeat(40_000), 1, crc, MAX), -1);
    assert.equal(w.length, before);
    assert.equal(encodePut(w, record(4, { subject: "x".repeat(65_535) }), 0, crc, MAX) > 0, true);
  });

  it("segment headers round-trip; another version is reported, not misread", () => {
    const w = new ByteWriter(8);
    const size = encodeSegmentHeader(w, SegmentKind.JOURNAL, 1001, "weather/EU", crc);
    assert.equal(segmentHeaderSize("weather/EU"), size);
    const bytes = w.bytes.slice(0, w.length);
    assert.deepEqual(decodeSegmentHeader(bytes, crc), { status: "ok", header: { kind: SegmentKind.JOURNAL, base: 1001, name: "weather/EU", size } });
    for (let cut = 0; cut < size; cut++) assert.equal(decodeSegmentHeader(bytes.subarray(0, cut), crc).status, "short", `cut at ${cut}`);
    const other = bytes.slice();
    other[4] = FORMAT_VERSION + 1;
    assert.deepEqual(decodeSegmentHeader(other, crc), { status: "version", version: FORMAT_VERSION + 1 });
    const bad = bytes.slice();
    bad[10]! ^= 1;
    assert.equal(decodeSegmentHeader(bad, crc).status, "crc");
    assert.equal(decodeSegmentHeader(utf8.encode("NOPE00000000000000000000"), crc).status, "magic");
  });
});

describe("storage scanner", () => {
  it("stops at the last whole record for a log cut at every byte offset", () => {
    const { bytes, bounds } = smallLog();
    const start = bounds[0]!;
    for (let cut = start; cut <= bytes.byteLength; cut++) {
      const { out, scan } = decodeAll(bytes.subarray(0, cut), start);
      const whole = bounds.filter((b) => b <= cut);
      assert.equal(scan.end, whole[whole.length - 1], `cut at ${cut}`);
      assert.equal(out.length, whole.length - 1, `cut at ${cut}`);
      assert.equal(scan.stop, bounds.includes(cut) ? "end" : "short", `cut at ${cut}`);
    }
  });

  it("stops at a record whose CRC does not match, for a flipped bit anywhere in it", () => {
    const { bytes, bounds } = smallLog();
    for (let i = bounds[1]!; i < bounds[2]!; i++) {
      const bad = bytes.slice();
      bad[i]! ^= 0x10;
      const { out, scan } = decodeAll(bad, bounds[0]!);
      assert.equal(out.length, 1, `byte ${i}`);
      assert.equal(scan.end, bounds[1]);
      assert.notEqual(scan.stop, "end");
    }
  });

  it("rejects lengths out of bounds before reading or allocating anything", () => {
    const view = new DataView(new ArrayBuffer(16));
    view.setUint32(0, 0xffff_fff0, true);
    const bytes = new Uint8Array(view.buffer);
    let visited = 0;
    const scan = scanRecords(bytes, 0, bytes.byteLength, 100, crc, () => void visited++);
    assert.deepEqual([scan.stop, scan.end, visited], ["bad", 0, 0]);
    assert.match(scan.reason!, /length/);
    view.setUint32(0, 0, true);
    assert.equal(scanRecords(bytes, 0, 16, 100, crc, () => {}).stop, "bad");
    // At the bound: a length of exactly maxRecordBytes is read (here: too short data, so "short").
    view.setUint32(0, 100, true);
    assert.deepEqual(scanRecords(bytes, 0, 16, 100, crc, () => {}), { end: 0, stop: "short", need: 108 });
  });

  it("rejects an unknown record type and a body that lies about its frames, even with a good CRC", () => {
    const w = new ByteWriter(8);
    encodeDone(w, 1, crc, MAX);
    const end = w.length;
    w.ensure(64);
    const start = w.length;
    w.length += RECORD_HEADER;
    w.u8(9);
    w.view.setUint32(start, w.length - start - RECORD_HEADER, true);
    w.view.setUint32(start + 4, crc(w.bytes.subarray(start + RECORD_HEADER, w.length)), true);
    let r = decodeAll(w.bytes.subarray(0, w.length), 0);
    assert.deepEqual([r.out.length, r.scan.stop, r.scan.end], [1, "bad", end]);
    assert.match(r.scan.reason!, /unknown record type 9/);
    // A JOURNAL whose frame count claims more frames than bytes remain.
    const v = new ByteWriter(8);
    encodeJournal(v, { seq: 1, sender: "", subject: "", content: [] }, 0, crc, MAX);
    v.view.setUint32(v.length - 4, 1_000_000, true);
    v.view.setUint32(4, crc(v.bytes.subarray(RECORD_HEADER, v.length)), true);
    r = decodeAll(v.bytes.subarray(0, v.length), 0);
    assert.deepEqual([r.out.length, r.scan.stop], [0, "bad"]);
    assert.match(r.scan.reason!, /malformed/);
  });
});
