/**
 * Journal retention, shared by both stores so that they keep exactly the same entries.
 *
 * A journal is a list of segments; the newest (active) one takes appends. Retention:
 * - `maxMessages` is exact: `first` never lags `head - maxMessages + 1`;
 * - bytes and age drop whole segments, oldest first, never the active one: a segment goes once
 *   the journal is over `maxBytes`, or once its newest entry is older than `maxAge`, or once all
 *   its entries are below `first`.
 * So that whole segments are fine-grained enough, the active segment rolls at a quarter of each
 * limit (bytes, entries, age) or at `segmentBytes`, whichever comes first: a journal holds at most
 * `maxBytes` (plus at most one record), and an entry outlives `maxAge` by at most a quarter of it.
 */
import { StorageError } from "./errors.ts";
import { DEFAULT_RETENTION, type JournalRetention, type RetentionRule } from "./types.ts";

/** What retention needs to know of a journal segment. */
export interface JournalSegmentSummary {
  /** First sequence number the segment holds (or would hold: it is created with an entry). */
  readonly base: number;
  /** Last sequence number in it (`base - 1` while empty). */
  last: number;
  entries: number;
  /** Bytes, header included. */
  bytes: number;
  /** Wall-clock ms of its first and newest entry. */
  firstTime: number;
  lastTime: number;
}

/** The smallest segment roll size (bytes), so that a tiny `maxBytes` does not mean a file per entry. */
export const MIN_ROLL_BYTES = 4096;

/** When an active segment is full. */
export interface RollLimits {
  bytes: number;
  entries: number;
  age: number;
}

/** Roll limits for a retention. @example rollLimits(DEFAULT_RETENTION, 64 << 20); */
export function rollLimits(r: JournalRetention, segmentBytes: number): RollLimits {
  return {
    bytes: Math.max(MIN_ROLL_BYTES, Math.min(segmentBytes, Math.floor(r.maxBytes / 4))),
    entries: Math.max(1, Math.ceil(r.maxMessages / 4)),
    age: r.maxAge / 4,
  };
}

/** A retention rule, its pattern compiled. */
export interface CompiledRule {
  re: RegExp;
  retention: Partial<JournalRetention>;
}

/**
 * Compiles rules (patterns match whole names); throws `STORAGE_CONFIG` on a bad pattern or value.
 *
 * @example
 * ```ts
 * const rules = compileRules([{ pattern: "forge\\..*", retention: { maxAge: 3_600_000 } }]);
 * ```
 */
export function compileRules(rules: readonly RetentionRule[]): CompiledRule[] {
  return rules.map((rule) => {
    checkRetention(rule.retention, `retention rule ${JSON.stringify(rule.pattern)}`);
    try {
      return { re: new RegExp(`^(?:${rule.pattern})$`), retention: rule.retention };
    } catch (cause) {
      throw new StorageError("STORAGE_CONFIG", `bad retention pattern ${JSON.stringify(rule.pattern)}`, { cause });
    }
  });
}

/** Throws `STORAGE_CONFIG` unless every given limit is a positive number. @example checkRetention({ maxBytes: 1 }, "retention"); */
export function checkRetention(r: Partial<JournalRetention>, what: string): void {
  for (const key of ["maxBytes", "maxAge", "maxMessages"] as const) {
    const v = r[key];
    if (v !== undefined && !(typeof v === "number" && v > 0)) {
      throw new StorageError("STORAGE_CONFIG", `${what}: ${key} must be a positive number, got ${String(v)}`);
    }
  }
}

/** The retention of stream `name`: the first matching rule over `base`. @example retentionOf("s", DEFAULT_RETENTION, []); */
export function retentionOf(name: string, base: JournalRetention = DEFAULT_RETENTION, rules: readonly CompiledRule[] = []): JournalRetention {
  for (const rule of rules) if (rule.re.test(name)) return { ...base, ...rule.retention };
  return base;
}

/**
 * One stream's journal as a list of segments, with the retention decisions; the stores keep the
 * entries (memory) or files (disk) behind each segment.
 *
 * @example
 * ```ts
 * const book = new JournalBook<Seg>(retention, limits);
 * if (book.needsRoll(size, now)) book.push(newSegment(seq));
 * book.record(seq, size, now);
 * for (const gone of book.trim(now)) remove(gone);
 * ```
 */
export class JournalBook<S extends JournalSegmentSummary> {
  readonly segments: S[] = [];
  head = 0;
  #first = 1;
  bytes = 0;

  constructor(readonly retention: JournalRetention, readonly limits: RollLimits) {}

  /** Oldest retained sequence (head + 1 when empty). */
  get first(): number {
    return this.#first;
  }

  /** Entries retained. */
  get entries(): number {
    return this.head - this.#first + 1;
  }

  get active(): S | undefined {
    return this.segments[this.segments.length - 1];
  }

  /** True when an entry of `size` bytes must go into a new segment. */
  needsRoll(size: number, now: number): boolean {
    const a = this.active;
    if (a === undefined) return true;
    if (a.entries === 0) return false;
    return a.bytes + size > this.limits.bytes || a.entries >= this.limits.entries || now - a.firstTime >= this.limits.age;
  }

  /** Adds a new (active) segment, as recovered or rolled. */
  push(seg: S): void {
    this.segments.push(seg);
    this.bytes += seg.bytes;
    if (this.segments.length === 1) this.#first = Math.max(this.#first, seg.base);
    this.head = Math.max(this.head, seg.last);
    this.#first = Math.max(this.#first, this.segments[0]!.base);
  }

  /** An entry was appended to the active segment. */
  record(seq: number, size: number, time: number): void {
    const a = this.active!;
    if (a.entries === 0) a.firstTime = time;
    a.entries++;
    a.last = seq;
    a.bytes += size;
    a.lastTime = time;
    this.bytes += size;
    this.head = seq;
  }

  /** Applies retention at wall time `now`: removes and returns the segments to delete. */
  trim(now: number): S[] {
    const r = this.retention;
    let first = Math.max(this.#first, this.head - r.maxMessages + 1);
    let drop = 0;
    let bytes = this.bytes;
    while (drop < this.segments.length - 1) {
      const s = this.segments[drop]!;
      if (bytes > r.maxBytes || s.lastTime < now - r.maxAge || s.last < first) {
        bytes -= s.bytes;
        drop++;
      } else break;
    }
    const gone = drop > 0 ? this.segments.splice(0, drop) : [];
    this.bytes = bytes;
    if (this.segments.length > 0) first = Math.max(first, this.segments[0]!.base);
    this.#first = Math.min(first, this.head + 1);
    return gone;
  }
}
