// Thompson simulation of a compiled pattern: the set of live NFA states is stepped once per
// subject byte, each node is visited at most once per step, so a test costs
// O(nodes × subject bytes) whatever the pattern (no backtracking, `(a*)*` cannot blow up).
// All work arrays are allocated once per pattern; a test allocates nothing.
import { K_BOL, K_EOL, K_EPS, K_MATCH, K_SET, K_SPLIT, type Program } from "./program.ts";

// Local copies: some loaders (tsx) turn imported bindings into getter calls, which the hot
// loop below must not pay for.
const SET = K_SET;
const SPLIT = K_SPLIT;
const EPS = K_EPS;
const BOL = K_BOL;
const EOL = K_EOL;
const MATCH = K_MATCH;

/** Result of an ε-closure: the program reached MATCH. */
const MATCHED = -1;

/**
 * Runs a compiled program against subject bytes with the C broker's search rules: an anchored
 * program (source starts with `^`) is tried at offset 0 only, any other program at offsets
 * `0..len-1`, so it never matches an empty subject.
 *
 * @example
 * ```ts
 * const { program } = compileProgram(new TextEncoder().encode("t.mp"));
 * const nfa = new NfaMatcher(program);
 * const subject = new TextEncoder().encode("xtempy");
 * nfa.test(subject, subject.length); // true
 * ```
 */
export class NfaMatcher {
  private readonly kind: Uint8Array;
  private readonly out1: Int32Array;
  private readonly out2: Int32Array;
  private readonly sets: Uint32Array;
  private readonly anchored: boolean;
  /** `mark[n] === gen` ⇔ node n was already reached at the current position. */
  private readonly mark: Int32Array;
  private gen = 0;
  private cur: Int32Array;
  private nxt: Int32Array;
  private readonly stack: Int32Array;
  /** SET nodes live at offset 0 of a non-empty subject, and whether MATCH is reached there. */
  private readonly startFirst: Int32Array;
  private readonly startFirstMatch: boolean;
  /** Whether an empty subject matches (only reachable for anchored programs). */
  private readonly emptyMatch: boolean;
  /** SET nodes live at a fresh start offset `0 < p < len`. */
  private readonly startMid: Int32Array;
  /** Bytes that can begin a match at a middle offset: lets a dead search skip ahead. */
  private readonly firstBytes: Uint8Array;

  constructor(program: Program) {
    this.kind = program.kind;
    this.out1 = skipEps(program.kind, program.out1, program.out1);
    this.out2 = skipEps(program.kind, program.out1, program.out2);
    this.sets = program.sets;
    this.anchored = program.anchored;
    const n = program.kind.length;
    this.mark = new Int32Array(n);
    this.cur = new Int32Array(n);
    this.nxt = new Int32Array(n);
    this.stack = new Int32Array(n);

    const start = program.kind[program.start] === EPS ? (this.out1[program.start] as number) : program.start;
    const first = this.startList(start, true, false);
    this.startFirst = first.list;
    this.startFirstMatch = first.matched;
    this.emptyMatch = this.startList(start, true, true).matched;
    const mid = this.startList(start, false, false);
    this.startMid = mid.list;
    this.firstBytes = new Uint8Array(256);
    for (const s of mid.list) {
      for (let byte = 0; byte < 256; byte++) if (this.has(s, byte)) this.firstBytes[byte] = 1;
    }
  }

  /**
   * Whether the program matches the first `len` bytes of `buf` (the caller has already cut
   * the subject at its first NUL).
   *
   * @example
   * ```ts
   * nfa.test(bytes, bytes.length);
   * ```
   */
  test(buf: Uint8Array, len: number): boolean {
    if (len === 0) return this.anchored && this.emptyMatch;
    if (this.startFirstMatch) return true;
    // Up to two generations per byte; restart the counter long before Int32 overflow.
    if (this.gen + 2 * len + 2 > 0x7ffffff0) {
      this.mark.fill(0);
      this.gen = 0;
    }
    const gen0 = ++this.gen;
    let count = 0;
    const cur0 = this.cur;
    for (const s of this.startFirst) {
      this.mark[s] = gen0;
      cur0[count++] = s;
    }
    const kind = this.kind;
    const out1 = this.out1;
    const sets = this.sets;
    const anchored = this.anchored;
    const firstBytes = this.firstBytes;
    const startMid = this.startMid;
    const mark = this.mark;
    let p = 0;
    while (p < len) {
      if (p > 0 && !anchored) {
        if (count === 0) {
          // Nothing alive: jump to the next byte that can begin a match.
          while (p < len && firstBytes[buf[p] as number] === 0) p++;
          if (p === len) return false;
          this.gen++;
        }
        const g = this.gen;
        const c = this.cur;
        for (let k = 0; k < startMid.length; k++) {
          const s = startMid[k] as number;
          if (mark[s] !== g) {
            mark[s] = g;
            c[count++] = s;
          }
        }
      } else if (count === 0) {
        return false;
      }
      const byte = buf[p] as number;
      const atEnd = p + 1 === len;
      const c = this.cur;
      const nx = this.nxt;
      this.gen++;
      let ncount = 0;
      const word = byte >>> 5;
      const bit = byte & 31;
      const g = this.gen;
      for (let k = 0; k < count; k++) {
        const s = c[k] as number;
        if ((((sets[(s << 3) | word] as number) >>> bit) & 1) === 0) continue;
        const t = out1[s] as number;
        // Most successors of a byte are the next byte: skip the closure walk for them.
        if (kind[t] === SET) {
          if (mark[t] !== g) {
            mark[t] = g;
            nx[ncount++] = t;
          }
          continue;
        }
        ncount = this.closure(t, nx, ncount, false, atEnd);
        if (ncount === MATCHED) return true;
      }
      this.cur = nx;
      this.nxt = c;
      count = ncount;
      p++;
    }
    return false;
  }

  /**
   * Adds to `list` the SET nodes reachable from `from` through ε-edges at the current
   * position; returns the new list length, or MATCHED as soon as MATCH is reachable.
   */
  private closure(from: number, list: Int32Array, count: number, atStart: boolean, atEnd: boolean): number {
    const mark = this.mark;
    const g = this.gen;
    if (mark[from] === g) return count;
    const kind = this.kind;
    const out1 = this.out1;
    const out2 = this.out2;
    const stack = this.stack;
    let sp = 0;
    mark[from] = g;
    stack[sp++] = from;
    while (sp > 0) {
      const n = stack[--sp] as number;
      let next = -1;
      switch (kind[n]) {
        case SET:
          list[count++] = n;
          continue;
        case MATCH:
          return MATCHED;
        case SPLIT: {
          const alt = out2[n] as number;
          if (mark[alt] !== g) {
            mark[alt] = g;
            stack[sp++] = alt;
          }
          next = out1[n] as number;
          break;
        }
        case EPS:
          next = out1[n] as number;
          break;
        case BOL:
          if (atStart) next = out1[n] as number;
          break;
        case EOL:
          if (atEnd) next = out1[n] as number;
          break;
      }
      if (next >= 0 && mark[next] !== g) {
        mark[next] = g;
        stack[sp++] = next;
      }
    }
    return count;
  }

  private has(node: number, byte: number): boolean {
    return ((((this.sets[(node << 3) | (byte >>> 5)] as number) >>> (byte & 31)) & 1) === 1);
  }

  /** The closure of the entry node at a fresh start offset, computed once at construction. */
  private startList(start: number, atStart: boolean, atEnd: boolean): { list: Int32Array; matched: boolean } {
    this.gen++;
    const tmp = new Int32Array(this.kind.length);
    const n = this.closure(start, tmp, 0, atStart, atEnd);
    if (n === MATCHED) return { list: new Int32Array(0), matched: true };
    return { list: tmp.slice(0, n), matched: false };
  }
}

/**
 * Successor table with ε-only (EPS) nodes jumped over, so that closures walk fewer nodes.
 * EPS chains always end (every loop of the construction passes through a SPLIT), but the walk is
 * capped anyway so that a malformed program cannot loop.
 */
function skipEps(kind: Uint8Array, next: Int32Array, out: Int32Array): Int32Array {
  const result = new Int32Array(out.length);
  for (let n = 0; n < out.length; n++) {
    let t = out[n] as number;
    for (let guard = 0; t >= 0 && kind[t] === EPS && guard < kind.length; guard++) t = next[t] as number;
    result[n] = t;
  }
  return result;
}
