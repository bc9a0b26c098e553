import type { Conn } from "./conn.ts";
import type { Pattern } from "./pattern.ts";

/** Readers that subscribed with the same pattern text share one compiled pattern. */
export interface Selector {
  readonly pattern: Pattern;
  readonly readers: Conn[];
}

/**
 * One named stream: how many connections write to it and who reads it with which
 * patterns. Delivery matches each distinct pattern once per message, then fans out
 * to that pattern's readers.
 */
export class Stream {
  /** Connections whose writer stream this is. */
  writers = 0;
  /** Pattern text → selector, in creation order. */
  readonly selectors = new Map<string, Selector>();
  /** Reader → number of selectors it is in. */
  readonly readers = new Map<Conn, number>();

  constructor(readonly name: string) {}

  /** Subscribe `conn` with `pattern`; the same (conn, pattern) twice is one subscription. */
  addReader(conn: Conn, source: string, compile: (source: string) => Pattern): void {
    let selector = this.selectors.get(source);
    if (!selector) {
      selector = { pattern: compile(source), readers: [] };
      this.selectors.set(source, selector);
    }
    if (selector.readers.includes(conn)) return;
    selector.readers.push(conn);
    this.readers.set(conn, (this.readers.get(conn) ?? 0) + 1);
  }

  /** Drop every subscription of `conn`. */
  removeReader(conn: Conn): void {
    if (!this.readers.delete(conn)) return;
    for (const [source, selector] of this.selectors) {
      const index = selector.readers.indexOf(conn);
      if (index < 0) continue;
      selector.readers.splice(index, 1);
      if (selector.readers.length === 0) this.selectors.delete(source);
    }
  }

  /** True when nothing refers to the stream any more, so it can be forgotten. */
  get idle(): boolean {
    return this.writers === 0 && this.readers.size === 0;
  }
}
