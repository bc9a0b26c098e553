import type { Conn } from "./conn.ts";
import type { FanOut } from "./fanout.ts";
import type { Pattern } from "../pattern.ts";

/**
 * Readers that subscribed with the same pattern text share one selector. Its pattern is
 * compiled when a message first has to be matched against it (never for exact selectors), so
 * that subscribing stays cheap.
 */
export interface Selector {
  readonly source: string;
  /** For an anchored literal: the one subject it matches (it is looked up, never matched). */
  readonly exact: string | undefined;
  /** The compiled pattern, once needed. */
  pattern: Pattern | undefined;
  readonly readers: Conn[];
}

/**
 * One named stream: how many connections write to it and who reads it with which
 * patterns. Delivery matches each distinct pattern once per message, then fans out
 * to that pattern's readers; anchored literals (`^lit$`) are found by one map lookup.
 */
export class Stream {
  /** Connections whose writer stream this is. */
  writers = 0;
  /** Pattern text → selector, in creation order (every pattern). */
  readonly selectors = new Map<string, Selector>();
  /** The selectors that must be matched one by one (all but the exact ones), by pattern text. */
  readonly scanned = new Map<string, Selector>();
  /** Exact subject → the selectors of anchored literals that match only it. */
  readonly exact = new Map<string, Selector[]>();
  /** Scanned selectors whose pattern is not compiled yet. */
  uncompiled = 0;
  /** Reader → number of selectors it is in. */
  readonly readers = new Map<Conn, number>();
  /** STREAM-SENDs whose fan-out waits for a later turn, oldest first (per-stream order). */
  readonly pending: FanOut[] = [];
  /**
   * The STREAM-DELIVER header of the last message, and the sender and subject it was made for:
   * a writer usually publishes under one subject, so most messages reuse it instead of
   * encoding the same bytes again. Header frames are never modified once made.
   */
  deliverHeader: Uint8Array | undefined = undefined;
  deliverSender = "";
  deliverSubject = "";

  constructor(readonly name: string) {}

  /**
   * Subscribe `conn` with `source`, whose exact subject (see `exactSubject`) is `exactOf(source)`;
   * false when it already was (the same pair is one subscription).
   */
  addReader(conn: Conn, source: string, exactOf: (source: string) => string | undefined): boolean {
    let selector = this.selectors.get(source);
    if (!selector) {
      const exact = exactOf(source);
      selector = { source, exact, pattern: undefined, readers: [] };
      this.selectors.set(source, selector);
      if (exact === undefined) {
        this.scanned.set(source, selector);
        this.uncompiled++;
      } else {
        const list = this.exact.get(exact);
        if (list) list.push(selector);
        else this.exact.set(exact, [selector]);
      }
    }
    if (selector.readers.includes(conn)) return false;
    selector.readers.push(conn);
    this.readers.set(conn, (this.readers.get(conn) ?? 0) + 1);
    return true;
  }

  /** Whether `conn` already reads with `source`. */
  has(conn: Conn, source: string): boolean {
    return this.selectors.get(source)?.readers.includes(conn) ?? false;
  }

  /** The pattern of a scanned selector, compiled by `compile` the first time. */
  patternOf(selector: Selector, compile: (source: string) => Pattern): Pattern {
    if (selector.pattern !== undefined) return selector.pattern;
    this.uncompiled--;
    return selector.pattern = compile(selector.source);
  }

  /** Drop every subscription of `conn`; returns how many there were. */
  removeReader(conn: Conn): number {
    const count = this.readers.get(conn);
    if (count === undefined) return 0;
    this.readers.delete(conn);
    for (const [source, selector] of this.selectors) {
      const index = selector.readers.indexOf(conn);
      if (index < 0) continue;
      selector.readers.splice(index, 1);
      if (selector.readers.length === 0) this.#forget(source, selector);
    }
    return count;
  }

  #forget(source: string, selector: Selector): void {
    this.selectors.delete(source);
    const exact = selector.exact;
    if (exact === undefined) {
      this.scanned.delete(source);
      if (selector.pattern === undefined) this.uncompiled--;
      return;
    }
    const list = this.exact.get(exact) as Selector[];
    if (list.length === 1) this.exact.delete(exact);
    else list.splice(list.indexOf(selector), 1);
  }

  /** True when nothing refers to the stream any more, so it can be forgotten. */
  get idle(): boolean {
    return this.writers === 0 && this.readers.size === 0 && this.pending.length === 0;
  }
}
