/**
 * The queue log's bookkeeping, sans-I/O: which PUT records are live (not done) and in which
 * segments, where each durable consumer's latest cursor lives, and from that, which segments can
 * be deleted or are worth compacting.
 *
 * Recovery folds records in log order into the same ledger the live store then keeps updating.
 * Because ids are never reused, a record is live iff a PUT for it was read and no DONE: the order
 * of segments does not matter, and a PUT copied forward by a compaction that crashed before
 * deleting the old segment is simply found twice.
 *
 * A segment may go only when nothing in it is live AND its DONE records no longer cancel a PUT in
 * another segment that still exists (else deleting it would bring that PUT back).
 */

/** Bookkeeping of one queue segment. */
export interface QueueSegmentInfo {
  readonly index: number;
  /** Bytes, header included. */
  bytes: number;
  /** Bytes of live PUTs and of the latest cursors homed here. */
  liveBytes: number;
  /** Live PUTs and latest cursors homed here. */
  live: number;
  /** Segments holding PUTs that DONE records of this one cancel (index -> count). */
  readonly refs: Map<number, number>;
}

interface LiveEntry {
  /** Segments holding a copy of the PUT (one, or two after an interrupted compaction). */
  segs: number[];
  size: number;
}

/** A durable consumer's latest cursor, and where it is stored. */
export interface CursorEntry {
  readonly stream: string;
  readonly consumer: string;
  seq: number;
  seg: number;
  size: number;
}

/** A maintenance step: delete a segment, or compact it (copy its live records forward, then delete). */
export interface QueueStep {
  readonly op: "delete" | "compact";
  readonly index: number;
}

/** Below this share of live bytes a segment is compacted. */
export const COMPACT_RATIO = 0.25;

/** Key of a (stream, consumer) pair. @example cursorKey("s", "dash"); */
export function cursorKey(stream: string, consumer: string): string {
  return `${stream.length}:${stream}${consumer}`;
}

/**
 * @example
 * ```ts
 * const ledger = new QueueLedger();
 * ledger.addSegment(1, headerSize);
 * ledger.put(7, 1, 120);
 * ledger.done(7, 1, 17);
 * ledger.plan(1, 4); // [] — segment 1 is the active one
 * ```
 */
export class QueueLedger {
  /** In index order (segments are added in increasing index). */
  readonly segments = new Map<number, QueueSegmentInfo>();
  readonly live = new Map<number, LiveEntry>();
  readonly cursors = new Map<string, CursorEntry>();
  /** Highest record id seen (PUT, DONE or a segment header's base). */
  lastId = 0;
  /** Bytes of all segments. */
  bytes = 0;

  addSegment(index: number, headerBytes: number, baseId = 0): QueueSegmentInfo {
    const info: QueueSegmentInfo = { index, bytes: headerBytes, liveBytes: 0, live: 0, refs: new Map() };
    this.segments.set(index, info);
    this.bytes += headerBytes;
    if (baseId > this.lastId) this.lastId = baseId;
    return info;
  }

  #seg(index: number, size: number): QueueSegmentInfo {
    const s = this.segments.get(index);
    if (s === undefined) throw new RangeError(`queue segment ${index} unknown`);
    s.bytes += size;
    this.bytes += size;
    return s;
  }

  /** A PUT of `size` bytes in segment `index`. Returns false when the id was already live there or elsewhere. */
  put(id: number, index: number, size: number): boolean {
    const s = this.#seg(index, size);
    if (id > this.lastId) this.lastId = id;
    const entry = this.live.get(id);
    if (entry !== undefined) {
      if (entry.segs.includes(index)) return false;
      entry.segs.push(index);
      s.live++;
      s.liveBytes += size;
      return false;
    }
    this.live.set(id, { segs: [index], size });
    s.live++;
    s.liveBytes += size;
    return true;
  }

  /** A DONE of `size` bytes in segment `index`. Returns true when it ended a live record. */
  done(id: number, index: number, size: number): boolean {
    const s = this.#seg(index, size);
    if (id > this.lastId) this.lastId = id;
    const entry = this.live.get(id);
    if (entry === undefined) return false;
    this.live.delete(id);
    for (const at of entry.segs) {
      const home = this.segments.get(at);
      if (home === undefined) continue;
      home.live--;
      home.liveBytes -= entry.size;
      if (at !== index) s.refs.set(at, (s.refs.get(at) ?? 0) + 1);
    }
    return true;
  }

  /** A CURSOR record; returns true when it moved the position (a new latest cursor). */
  cursor(stream: string, consumer: string, seq: number, index: number, size: number): boolean {
    const s = this.#seg(index, size);
    const key = cursorKey(stream, consumer);
    const prev = this.cursors.get(key);
    // Equal counts as newer: a compaction re-homes a cursor by writing it again.
    if (prev !== undefined && seq < prev.seq) return false;
    if (prev !== undefined) {
      const old = this.segments.get(prev.seg);
      if (old !== undefined) {
        old.live--;
        old.liveBytes -= prev.size;
      }
    }
    this.cursors.set(key, { stream, consumer, seq, seg: index, size });
    s.live++;
    s.liveBytes += size;
    return prev === undefined || seq > prev.seq;
  }

  /** Bytes that carry nothing (a record skipped by recovery). */
  dead(index: number, size: number): void {
    this.#seg(index, size);
  }

  /** The live PUT `id` was copied out of segment `from` (by compaction). */
  moved(id: number, from: number): void {
    const entry = this.live.get(id);
    const s = this.segments.get(from);
    if (entry === undefined || s === undefined) return;
    const i = entry.segs.indexOf(from);
    if (i < 0) return;
    entry.segs.splice(i, 1);
    s.live--;
    s.liveBytes -= entry.size;
  }

  /** True when `id` is live and segment `index` holds a copy. */
  holds(id: number, index: number): boolean {
    return this.live.get(id)?.segs.includes(index) ?? false;
  }

  /** Forget a deleted segment. */
  removeSegment(index: number): void {
    const s = this.segments.get(index);
    if (s === undefined) return;
    this.segments.delete(index);
    this.bytes -= s.bytes;
  }

  /** True when no DONE record of `s` cancels a PUT in a segment that still exists. */
  #unpinned(s: QueueSegmentInfo): boolean {
    for (const at of s.refs.keys()) {
      if (this.segments.has(at)) return false;
      s.refs.delete(at);
    }
    return true;
  }

  /**
   * Up to `max` steps, oldest segment first, never touching `active`: delete segments with
   * nothing live; compact those with less than {@link COMPACT_RATIO} of their bytes live.
   */
  plan(active: number, max: number): QueueStep[] {
    const steps: QueueStep[] = [];
    for (const s of this.segments.values()) {
      if (steps.length >= max) break;
      if (s.index === active || !this.#unpinned(s)) continue;
      if (s.live === 0) steps.push({ op: "delete", index: s.index });
      else if (s.liveBytes < s.bytes * COMPACT_RATIO) steps.push({ op: "compact", index: s.index });
    }
    return steps;
  }
}
