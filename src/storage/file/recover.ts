/**
 * Recovery of a data directory: reads every segment, folds the queue log into a ledger and the
 * live records, rebuilds each journal's segments and sparse index, truncates a torn or corrupt
 * tail of the last segment of each log and skips (with a note) the rest of a bad segment
 * elsewhere. Only an unknown format version stops it (`STORAGE_VERSION`): such a segment is left
 * exactly as it is.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import {
  BodyReader, decodeCursor, decodeDone, decodePut, decodeSegmentHeader, FORMAT_VERSION, RecordType, SegmentKind,
  type Crc32, type PutRecord, type SegmentHeader,
} from "../codec.ts";
import { StorageError } from "../errors.ts";
import { SparseIndex } from "../journal-index.ts";
import { QueueLedger } from "../ledger.ts";
import { segmentNumber } from "../naming.ts";
import type { JournalSegmentSummary } from "../retention.ts";
import { scanRecords } from "../scan.ts";
import { SegmentFile } from "./segment.ts";

/** A journal segment as the file store keeps it. */
export interface FileJournalSegment extends JournalSegmentSummary {
  readonly file: SegmentFile;
  readonly index: SparseIndex;
}

/** Running totals of what recovery found and threw away. */
export interface RecoveryTally {
  entries: number;
  discardedBytes: number;
  discardedRecords: number;
  notes: string[];
}

/** The queue log as recovered. */
export interface RecoveredQueues {
  ledger: QueueLedger;
  /** Live records (deadline as wall-clock ms), in the order of their first PUT. */
  records: PutRecord[];
  /** Segment files by index, in index order; the last one is the active segment (if any). */
  files: Map<number, SegmentFile>;
}

function sortedSegments(dir: string): { n: number; path: string }[] {
  const out: { n: number; path: string }[] = [];
  for (const name of readdirSync(dir)) {
    const n = segmentNumber(name);
    if (n !== undefined) out.push({ n, path: join(dir, name) });
  }
  return out.sort((a, b) => a.n - b.n);
}

/** A file's bytes as a plain Uint8Array (recovered frames are views or copies of it, not Buffers). */
function readBytes(path: string): Uint8Array {
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

type Header = { ok: true; header: SegmentHeader } | { ok: false };

/** Checks a segment's header; throws on an unknown version, handles a bad one (note, delete or set aside). */
function readHeader(bytes: Uint8Array, path: string, kind: number, last: boolean, crc: Crc32, tally: RecoveryTally): Header {
  const h = decodeSegmentHeader(bytes, crc);
  if (h.status === "version") {
    throw new StorageError("STORAGE_VERSION", `${path} is in segment format version ${h.version}; this code reads version ${FORMAT_VERSION}`);
  }
  if (h.status === "ok" && h.header.kind === kind) return { ok: true, header: h.header };
  tally.discardedBytes += bytes.byteLength;
  tally.discardedRecords++;
  if (last && h.status === "short") {
    unlinkSync(path);
    tally.notes.push(`${path}: torn segment header (${bytes.byteLength} bytes), deleted`);
  } else {
    renameSync(path, `${path}.bad`);
    tally.notes.push(`${path}: unreadable segment header (${h.status === "ok" ? "wrong kind" : h.status}), set aside as ${path}.bad`);
  }
  return { ok: false };
}

/** Keeps `bytes[0, end)` of a segment whose scan stopped early: truncates the last one, notes the others. */
function cut(path: string, size: number, end: number, reason: string, last: boolean, tally: RecoveryTally): void {
  tally.discardedBytes += size - end;
  tally.discardedRecords++;
  if (last) {
    truncateSync(path, end);
    tally.notes.push(`${path}: ${reason} at offset ${end}, truncated ${size - end} bytes`);
  } else {
    tally.notes.push(`${path}: ${reason} at offset ${end}, skipped the remaining ${size - end} bytes`);
  }
}

/**
 * Recovers `dir/queues`.
 *
 * @example
 * ```ts
 * const { ledger, records } = recoverQueues("data/queues", maxRecordBytes, crc32, tally);
 * ```
 */
export function recoverQueues(dir: string, maxRecordBytes: number, crc: Crc32, tally: RecoveryTally): RecoveredQueues {
  mkdirSync(dir, { recursive: true });
  const ledger = new QueueLedger();
  const files = new Map<number, SegmentFile>();
  const reader = new BodyReader();
  reader.copy = true;
  const list = sortedSegments(dir);
  list.forEach(({ n, path }, i) => {
    const last = i === list.length - 1;
    const bytes = readBytes(path);
    const h = readHeader(bytes, path, SegmentKind.QUEUE, last, crc, tally);
    if (!h.ok) return;
    ledger.addSegment(n, h.header.size, h.header.base);
    const scan = scanRecords(bytes, h.header.size, bytes.byteLength, maxRecordBytes, crc, (type, b, view, body, end, offset) => {
      reader.reset(b, view, body, end);
      const size = end - offset;
      if (type === RecordType.PUT) {
        const r = decodePut(reader);
        if (r === undefined) return false;
        ledger.put(r.id, n, size, r);
      } else if (type === RecordType.DONE) {
        const id = decodeDone(reader);
        if (id === undefined) return false;
        ledger.done(id, n, size);
      } else if (type === RecordType.CURSOR) {
        const c = decodeCursor(reader);
        if (c === undefined) return false;
        ledger.cursor(c.stream, c.consumer, c.seq, n, size);
      } else return false;
    });
    if (scan.stop !== "end") {
      cut(path, bytes.byteLength, scan.end, scan.reason ?? "torn record", last, tally);
      if (!last) ledger.dead(n, bytes.byteLength - scan.end);
    }
    files.set(n, new SegmentFile(path, last ? scan.end : bytes.byteLength));
  });
  const records: PutRecord[] = [];
  for (const entry of ledger.live.values()) {
    records.push(entry.record as PutRecord);
    entry.record = undefined;
  }
  return { ledger, records, files };
}

/**
 * Recovers the journals under `dir/streams`: segments grouped by the stream named in their
 * headers, in sequence order.
 *
 * @example
 * ```ts
 * const journals = recoverStreams("data/streams", maxRecordBytes, crc32, tally);
 * ```
 */
export function recoverStreams(dir: string, maxRecordBytes: number, crc: Crc32, tally: RecoveryTally): Map<string, { dir: string; segments: FileJournalSegment[] }> {
  mkdirSync(dir, { recursive: true });
  const out = new Map<string, { dir: string; segments: FileJournalSegment[] }>();
  for (const name of readdirSync(dir).sort()) {
    const streamDir = join(dir, name);
    if (!statSync(streamDir).isDirectory()) continue;
    const list = sortedSegments(streamDir);
    list.forEach(({ path }, i) => {
      const last = i === list.length - 1;
      const bytes = readBytes(path);
      const h = readHeader(bytes, path, SegmentKind.JOURNAL, last, crc, tally);
      if (!h.ok) return;
      const { base, name: stream, size: headerSize } = h.header;
      const index = new SparseIndex();
      const seg = { base, last: base - 1, entries: 0, bytes: headerSize, firstTime: 0, lastTime: 0, index } as Omit<FileJournalSegment, "file"> & { file?: SegmentFile };
      const scan = scanRecords(bytes, headerSize, bytes.byteLength, maxRecordBytes, crc, (type, _b, view, body, end, offset) => {
        // The CRC vouches for the body; only the fields recovery needs are read.
        if (type !== RecordType.JOURNAL || end - body < 16 + 2 + 2 + 4) return false;
        const seq = view.getFloat64(body, true);
        const time = view.getFloat64(body + 8, true);
        if (!(seq > seg.last)) return false;
        index.note(seq, offset, time);
        if (seg.entries === 0) seg.firstTime = time;
        seg.entries++;
        seg.last = seq;
        seg.lastTime = time;
        seg.bytes += end - offset;
      });
      if (scan.stop !== "end") cut(path, bytes.byteLength, scan.end, scan.reason ?? "torn record", last, tally);
      tally.entries += seg.entries;
      seg.file = new SegmentFile(path, last ? scan.end : bytes.byteLength);
      if (!last) seg.bytes = bytes.byteLength;
      let journal = out.get(stream);
      if (journal === undefined) out.set(stream, (journal = { dir: streamDir, segments: [] }));
      journal.segments.push(seg as FileJournalSegment);
    });
  }
  for (const j of out.values()) j.segments.sort((a, b) => a.base - b.base);
  return out;
}
