/**
 * The on-disk record format (design.md §5 "Log shape"), sans-I/O.
 *
 * A segment is a header followed by records:
 * - header: magic `"MLMS"`, format version (u16), kind (u8: 1 queue, 2 journal), reserved (u8),
 *   base (f64: a queue segment's last record id when it was created, a journal segment's first
 *   sequence number), name (u16 length + UTF-8: the stream of a journal segment), CRC-32 of all
 *   of the above (u32).
 * - record: length (u32: bytes after the CRC), CRC-32 (u32, over type and body), type (u8), body.
 * All numbers little-endian; strings are a u16 byte length and UTF-8; frames are a u32 count and
 * a u32 length before each frame.
 *
 * Record bodies:
 * - PUT (1): id (f64), kind (u8: 0 mailbox, 1 service), sender, address, subject, tracker,
 *   deadline (f64, wall-clock ms, `Infinity` = none), frames.
 * - DONE (2): id (f64).
 * - JOURNAL (3): seq (f64), time (f64, wall-clock ms), sender, subject, frames.
 * - CURSOR (4): stream, consumer, seq (f64).
 */
import { copySmall } from "../util/small-bytes.ts";
import { ByteWriter, readUtf8 } from "./byte-writer.ts";

/** CRC-32 (IEEE), as `crc32` of `node:zlib`: injected so the codec does no I/O imports. */
export type Crc32 = (data: Uint8Array, initial?: number) => number;

/** The segment format this code writes and reads. */
export const FORMAT_VERSION = 1;
/** `"MLMS"`. */
export const SEGMENT_MAGIC = Uint8Array.of(0x4d, 0x4c, 0x4d, 0x53);
/** Length and CRC before each record's type byte. */
export const RECORD_HEADER = 8;
/** Record types. */
export const RecordType = { PUT: 1, DONE: 2, JOURNAL: 3, CURSOR: 4 } as const;
/** Segment kinds. */
export const SegmentKind = { QUEUE: 1, JOURNAL: 2 } as const;

/** Room for a record's fields on top of its content (strings and frame lengths). */
export const RECORD_ALLOWANCE = 1024 * 1024;

/** A PUT as stored: the deadline is wall-clock time. */
export interface PutRecord {
  id: number;
  kind: "mailbox" | "service";
  sender: string;
  address: string;
  subject: string;
  tracker: string;
  wallDeadline: number;
  content: Uint8Array[];
}

/** A JOURNAL record as stored (the stream is the segment's). */
export interface JournalRecord {
  seq: number;
  time: number;
  sender: string;
  subject: string;
  content: Uint8Array[];
}

/** A CURSOR record. */
export interface CursorRecord {
  stream: string;
  consumer: string;
  seq: number;
}

/** Thrown by a field reader past the end of a record body; the scanner's caller treats the record as bad. */
class Malformed extends Error {}

function contentSize(content: readonly Uint8Array[]): number {
  let size = 4 + 4 * content.length;
  for (const f of content) size += f.byteLength;
  return size;
}

function begin(w: ByteWriter, type: number): number {
  const start = w.length;
  w.ensure(RECORD_HEADER + 1);
  w.length += RECORD_HEADER;
  w.u8(type);
  return start;
}

function frames(w: ByteWriter, content: readonly Uint8Array[]): void {
  w.u32(content.length);
  for (const f of content) {
    w.u32(f.byteLength);
    w.raw(f);
  }
}

/** Writes length and CRC; returns the record's size, or -1 (and unwrites it) when too large. */
function end(w: ByteWriter, start: number, ok: boolean, crc: Crc32, maxRecordBytes: number): number {
  const length = w.length - start - RECORD_HEADER;
  if (!ok || length > maxRecordBytes) {
    w.length = start;
    return -1;
  }
  w.view.setUint32(start, length, true);
  w.view.setUint32(start + 4, crc(w.bytes.subarray(start + RECORD_HEADER, w.length)) >>> 0, true);
  return w.length - start;
}

/**
 * Appends a PUT record (content copied into `w`). Returns its size, or -1 when it would exceed
 * `maxRecordBytes` (nothing is written).
 *
 * @example
 * ```ts
 * const size = encodePut(w, record, clock.wallOf(record.deadline), crc32, 1 << 20);
 * ```
 */
export function encodePut(
  w: ByteWriter, r: { id: number; kind: string; sender: string; address: string; subject: string; tracker: string; content: readonly Uint8Array[] },
  wallDeadline: number, crc: Crc32, maxRecordBytes: number,
): number {
  if (contentSize(r.content) > maxRecordBytes) return -1;
  const start = begin(w, RecordType.PUT);
  w.f64(r.id);
  w.u8(r.kind === "service" ? 1 : 0);
  const ok = w.str(r.sender) && w.str(r.address) && w.str(r.subject) && w.str(r.tracker);
  if (ok) {
    w.f64(wallDeadline);
    frames(w, r.content);
  }
  return end(w, start, ok, crc, maxRecordBytes);
}

/** Appends a DONE record; returns its size. @example encodeDone(w, 7, crc32, max); */
export function encodeDone(w: ByteWriter, id: number, crc: Crc32, maxRecordBytes: number): number {
  const start = begin(w, RecordType.DONE);
  w.f64(id);
  return end(w, start, true, crc, maxRecordBytes);
}

/** Appends a JOURNAL record; returns its size or -1. @example encodeJournal(w, entry, Date.now(), crc32, max); */
export function encodeJournal(
  w: ByteWriter, e: { seq: number; sender: string; subject: string; content: readonly Uint8Array[] },
  time: number, crc: Crc32, maxRecordBytes: number,
): number {
  if (contentSize(e.content) > maxRecordBytes) return -1;
  const start = begin(w, RecordType.JOURNAL);
  w.f64(e.seq);
  w.f64(time);
  const ok = w.str(e.sender) && w.str(e.subject);
  if (ok) frames(w, e.content);
  return end(w, start, ok, crc, maxRecordBytes);
}

/** Appends a CURSOR record; returns its size or -1. @example encodeCursor(w, "s", "dash", 42, crc32, max); */
export function encodeCursor(w: ByteWriter, stream: string, consumer: string, seq: number, crc: Crc32, maxRecordBytes: number): number {
  const start = begin(w, RecordType.CURSOR);
  const ok = w.str(stream) && w.str(consumer);
  if (ok) w.f64(seq);
  return end(w, start, ok, crc, maxRecordBytes);
}

/** Reads fields of one record body, checking every bound. */
export class BodyReader {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView = new DataView(this.bytes.buffer);
  at = 0;
  end = 0;
  /** Copy frames out of the scanned bytes (recovery) or return views of them (reads). */
  copy = false;

  reset(bytes: Uint8Array, view: DataView, at: number, end: number): this {
    this.bytes = bytes;
    this.view = view;
    this.at = at;
    this.end = end;
    return this;
  }

  #need(n: number): number {
    const at = this.at;
    if (at + n > this.end) throw new Malformed();
    this.at = at + n;
    return at;
  }

  u8(): number {
    return this.bytes[this.#need(1)] as number;
  }

  f64(): number {
    return this.view.getFloat64(this.#need(8), true);
  }

  str(): string {
    const n = this.view.getUint16(this.#need(2), true);
    const at = this.#need(n);
    return readUtf8(this.bytes, at, at + n);
  }

  frames(): Uint8Array[] {
    const count = this.view.getUint32(this.#need(4), true);
    // Each frame takes at least its 4-byte length: a count beyond that is a lie.
    if (count * 4 > this.end - this.at) throw new Malformed();
    const out = new Array<Uint8Array>(count);
    for (let i = 0; i < count; i++) {
      const n = this.view.getUint32(this.#need(4), true);
      const at = this.#need(n);
      const view = this.bytes.subarray(at, at + n);
      out[i] = this.copy ? copySmall(view, n) : view;
    }
    return out;
  }

  /** True when the body was read exactly. */
  get done(): boolean {
    return this.at === this.end;
  }
}

/** Decodes a PUT body, or undefined when malformed. @example decodePut(reader.reset(bytes, view, body, end)); */
export function decodePut(r: BodyReader): PutRecord | undefined {
  try {
    const id = r.f64();
    const kind = r.u8();
    if (kind > 1) return undefined;
    const rec: PutRecord = {
      id, kind: kind === 1 ? "service" : "mailbox",
      sender: r.str(), address: r.str(), subject: r.str(), tracker: r.str(), wallDeadline: r.f64(), content: r.frames(),
    };
    return r.done ? rec : undefined;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** Decodes a DONE body (the id), or undefined. @example decodeDone(reader); */
export function decodeDone(r: BodyReader): number | undefined {
  try {
    const id = r.f64();
    return r.done ? id : undefined;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** Decodes a JOURNAL body, or undefined. @example decodeJournal(reader); */
export function decodeJournal(r: BodyReader): JournalRecord | undefined {
  try {
    const rec: JournalRecord = { seq: r.f64(), time: r.f64(), sender: r.str(), subject: r.str(), content: r.frames() };
    return r.done ? rec : undefined;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** Decodes a CURSOR body, or undefined. @example decodeCursor(reader); */
export function decodeCursor(r: BodyReader): CursorRecord | undefined {
  try {
    const rec: CursorRecord = { stream: r.str(), consumer: r.str(), seq: r.f64() };
    return r.done ? rec : undefined;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** Stored size of a journal entry (what retention counts as its bytes). @example journalRecordSize(entry); */
export function journalRecordSize(e: { sender: string; subject: string; content: readonly Uint8Array[] }, w = sizer): number {
  w.length = 0;
  w.str(e.sender);
  w.str(e.subject);
  return RECORD_HEADER + 1 + 16 + w.length + contentSize(e.content);
}
const sizer = new ByteWriter(1024);

/** A segment's header, decoded. */
export interface SegmentHeader {
  kind: number;
  base: number;
  name: string;
  /** Header bytes: records start here. */
  size: number;
}

/** What {@link decodeSegmentHeader} found. */
export type HeaderResult =
  | { status: "ok"; header: SegmentHeader }
  /** Fewer bytes than a header: a segment torn while being created. */
  | { status: "short" }
  | { status: "magic" }
  /** Written by another format version: refuse, do not misread. */
  | { status: "version"; version: number }
  | { status: "crc" };

const HEADER_FIXED = 18;

/** Appends a segment header. @example encodeSegmentHeader(w, SegmentKind.JOURNAL, 1, "weather", crc32); */
export function encodeSegmentHeader(w: ByteWriter, kind: number, base: number, name: string, crc: Crc32): number {
  const start = w.length;
  w.raw(SEGMENT_MAGIC);
  w.u16(FORMAT_VERSION);
  w.u8(kind);
  w.u8(0);
  w.f64(base);
  if (!w.str(name)) throw new RangeError("segment name longer than 65535 bytes");
  w.u32(crc(w.bytes.subarray(start, w.length)) >>> 0);
  return w.length - start;
}

/** Size of a segment header naming `name`. @example segmentHeaderSize("weather"); */
export function segmentHeaderSize(name: string): number {
  sizer.length = 0;
  sizer.str(name);
  return HEADER_FIXED + sizer.length - 2 + 2 + 4;
}

/** Decodes the header at the start of a segment's bytes. @example decodeSegmentHeader(bytes, crc32); */
export function decodeSegmentHeader(bytes: Uint8Array, crc: Crc32): HeaderResult {
  if (bytes.byteLength < 6) return { status: "short" };
  for (let i = 0; i < 4; i++) if (bytes[i] !== SEGMENT_MAGIC[i]) return { status: "magic" };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION) return { status: "version", version };
  if (bytes.byteLength < HEADER_FIXED) return { status: "short" };
  const nameLength = view.getUint16(16, true);
  const size = HEADER_FIXED + nameLength + 4;
  if (bytes.byteLength < size) return { status: "short" };
  if (view.getUint32(size - 4, true) !== crc(bytes.subarray(0, size - 4)) >>> 0) return { status: "crc" };
  const header: SegmentHeader = {
    kind: bytes[6] as number, base: view.getFloat64(8, true), name: readUtf8(bytes, HEADER_FIXED, HEADER_FIXED + nameLength), size,
  };
  return { status: "ok", header };
}

/** Stored size of a PUT record. @example putRecordSize(record); */
export function putRecordSize(r: { sender: string; address: string; subject: string; tracker: string; content: readonly Uint8Array[] }, w = sizer): number {
  w.length = 0;
  w.str(r.sender);
  w.str(r.address);
  w.str(r.subject);
  w.str(r.tracker);
  return RECORD_HEADER + 1 + 8 + 1 + w.length + 8 + contentSize(r.content);
}
