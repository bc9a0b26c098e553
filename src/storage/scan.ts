/**
 * Finds the records in a segment's bytes, trusting nothing: a length is checked against a bound
 * and the data before it is used, and a record is handed out only after its CRC matched.
 */
import { RECORD_HEADER, RecordType, type Crc32 } from "./codec.ts";

/**
 * Called for each good record: `type`, and its body at `bytes[body, end)`; `offset` is where the
 * record starts. Return false when the body is malformed (it then counts as a bad record), or
 * `"stop"` to end the scan before this record (`end` is then its offset).
 */
export type RecordVisitor = (type: number, bytes: Uint8Array, view: DataView, body: number, end: number, offset: number) => boolean | "stop" | void;

/** Where and why a scan stopped. */
export interface ScanResult {
  /** Offset just after the last good record: the length to keep. */
  end: number;
  /**
   * `end`: the data ended on a record boundary. `short`: it ended inside a record whose length is
   * within bounds (a torn write, or a chunk to read further: `need` bytes from `end`). `bad`: the
   * record at `end` is corrupt (`reason`).
   */
  stop: "end" | "short" | "bad";
  reason?: string;
  need?: number;
}

/**
 * Scans records in `bytes[start, limit)`.
 *
 * @example
 * ```ts
 * const { end, stop } = scanRecords(bytes, header.size, bytes.length, maxRecordBytes, crc32, (type) => { count++; });
 * if (stop !== "end") truncateTo(end);
 * ```
 */
export function scanRecords(
  bytes: Uint8Array, start: number, limit: number, maxRecordBytes: number, crc: Crc32, visit: RecordVisitor,
): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = start;
  while (at < limit) {
    if (limit - at < RECORD_HEADER + 1) return { end: at, stop: "short", need: RECORD_HEADER + 1 };
    const length = view.getUint32(at, true);
    if (length < 1 || length > maxRecordBytes) return { end: at, stop: "bad", reason: `record length ${length} out of bounds` };
    const end = at + RECORD_HEADER + length;
    if (end > limit) return { end: at, stop: "short", need: RECORD_HEADER + length };
    const body = at + RECORD_HEADER;
    if (crc(bytes.subarray(body, end)) >>> 0 !== view.getUint32(at + 4, true)) return { end: at, stop: "bad", reason: "CRC mismatch" };
    const type = bytes[body] as number;
    if (type < RecordType.PUT || type > RecordType.CURSOR) return { end: at, stop: "bad", reason: `unknown record type ${type}` };
    const verdict = visit(type, bytes, view, body + 1, end, at);
    if (verdict === false) return { end: at, stop: "bad", reason: `malformed record of type ${type}` };
    if (verdict === "stop") return { end: at, stop: "end" };
    at = end;
  }
  return { end: at, stop: "end" };
}
