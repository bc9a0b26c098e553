/**
 * A sparse index of a journal segment: every {@link INDEX_EVERY} bytes, the sequence number,
 * offset and time of the record there, so that a read from a sequence number or a time scans at
 * most that many bytes before its first entry.
 */

/** Bytes of records between two index points. */
export const INDEX_EVERY = 8192;

/**
 * @example
 * ```ts
 * const index = new SparseIndex();
 * index.note(1, 40, t0);
 * index.offsetOf(1); // 40
 * ```
 */
export class SparseIndex {
  readonly seqs: number[] = [];
  readonly offsets: number[] = [];
  readonly times: number[] = [];
  #last = -Infinity;

  /** A record `seq` at `offset`, taken at `time`. Call in offset order. */
  note(seq: number, offset: number, time: number): void {
    if (offset - this.#last < INDEX_EVERY) return;
    this.#last = offset;
    this.seqs.push(seq);
    this.offsets.push(offset);
    this.times.push(time);
  }

  /** Offset to scan from for `seq`: the last point at or before it (-1 when none is). */
  offsetOf(seq: number): number {
    return this.#find(this.seqs, seq, false);
  }

  /** Offset to scan from for the first entry at or after `time` (times assumed nearly ordered). */
  offsetOfTime(time: number): number {
    return this.#find(this.times, time, true);
  }

  /** Offset of the last point whose key is <= (or < when `strict`) `key`, else -1. */
  #find(keys: readonly number[], key: number, strict: boolean): number {
    let lo = 0;
    let hi = keys.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const k = keys[mid]!;
      if (strict ? k < key : k <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? -1 : this.offsets[found]!;
  }
}
