// Parser + Thompson construction for zrex-style patterns. The parser is iterative (an explicit
// stack of open groups) so that deeply nested input cannot overflow the JS call stack, and it
// never throws: every syntax error is recorded (first one wins) and then repaired the way the
// C broker behaves where that behaviour is known and terminates (see docs/patterns.md).
import {
  addByte,
  addRange,
  classEscape,
  complement,
  emptySet,
  fullSet,
  literalEscape,
  singleton,
  type ByteSet,
} from "./charset.ts";
import { K_BOL, K_EOL, K_EPS, K_MATCH, K_SET, K_SPLIT, type Program } from "./program.ts";

/**
 * Result of compiling pattern bytes: the program (always usable, repaired if the source had
 * errors) and the first syntax error, if any.
 *
 * @example
 * ```ts
 * const r = compileProgram(new TextEncoder().encode("(a"));
 * r.error; // 'unbalanced parenthesis: "(" at byte 0 is never closed'
 * ```
 */
export interface CompileResult {
  readonly program: Program;
  readonly error?: string;
}

/** A piece of NFA under construction; `end` is a node whose `out1` is still unset. */
interface Frag {
  start: number;
  end: number;
}

/** One open group: finished alternatives, the sequence so far, and its last (quantifiable) atom. */
interface Frame {
  alts: Frag[];
  seq: Frag | null;
  last: Frag | null;
  openAt: number;
}

const CH_LPAREN = 0x28;
const CH_RPAREN = 0x29;
const CH_STAR = 0x2a;
const CH_PLUS = 0x2b;
const CH_DOT = 0x2e;
const CH_QUEST = 0x3f;
const CH_LBRACKET = 0x5b;
const CH_BACKSLASH = 0x5c;
const CH_RBRACKET = 0x5d;
const CH_CARET = 0x5e;
const CH_DOLLAR = 0x24;
const CH_PIPE = 0x7c;
const CH_DASH = 0x2d;

class Builder {
  readonly kind: number[] = [];
  readonly out1: number[] = [];
  readonly out2: number[] = [];
  readonly sets = new Map<number, ByteSet>();

  node(kind: number, out1 = -1, out2 = -1): number {
    this.kind.push(kind);
    this.out1.push(out1);
    this.out2.push(out2);
    return this.kind.length - 1;
  }

  set(bits: ByteSet): Frag {
    const n = this.node(K_SET);
    this.sets.set(n, bits);
    return { start: n, end: n };
  }

  single(kind: number): Frag {
    const n = this.node(kind);
    return { start: n, end: n };
  }

  concat(a: Frag | null, b: Frag): Frag {
    if (a === null) return b;
    this.out1[a.end] = b.start;
    return { start: a.start, end: b.end };
  }

  alt(frags: Frag[]): Frag {
    const last = frags[frags.length - 1] as Frag;
    if (frags.length === 1) return last;
    const join = this.node(K_EPS);
    let entry = last.start;
    this.out1[last.end] = join;
    for (let i = frags.length - 2; i >= 0; i--) {
      const f = frags[i] as Frag;
      this.out1[f.end] = join;
      entry = this.node(K_SPLIT, f.start, entry);
    }
    return { start: entry, end: join };
  }

  /** `*`, `+` or `?` around `f`. Laziness does not change whether a match exists. */
  repeat(f: Frag, q: number): Frag {
    const exit = this.node(K_EPS);
    const split = this.node(K_SPLIT, f.start, exit);
    if (q === CH_QUEST) {
      this.out1[f.end] = exit;
      return { start: split, end: exit };
    }
    this.out1[f.end] = split;
    return { start: q === CH_STAR ? split : f.start, end: exit };
  }

  finish(entry: Frag, anchored: boolean): Program {
    const match = this.node(K_MATCH);
    this.out1[entry.end] = match;
    const count = this.kind.length;
    const sets = new Uint32Array(count * 8);
    for (const [n, bits] of this.sets) sets.set(bits, n * 8);
    return {
      kind: Uint8Array.from(this.kind),
      out1: Int32Array.from(this.out1),
      out2: Int32Array.from(this.out2),
      sets,
      start: entry.start,
      anchored,
    };
  }
}

/** A bracket item: one byte, or nothing (a class escape, which does not work inside brackets). */
type Item = { byte: number; next: number } | { byte: -1; next: number };

function bracketItem(src: Uint8Array, at: number): Item | undefined {
  const c = src[at];
  if (c === undefined) return undefined;
  if (c !== CH_BACKSLASH) return { byte: c, next: at + 1 };
  const e = src[at + 1];
  if (e === undefined) return undefined;
  // As in the C broker, `[\d]` is not a digit class: the class escape adds no byte at all.
  if (classEscape(e) !== undefined) return { byte: -1, next: at + 2 };
  return { byte: literalEscape(e), next: at + 2 };
}

/**
 * Parses `[...]` whose `[` is at `open`. Returns the set and the index after `]`, or
 * `undefined` if the bracket is never closed. A reversed range such as `z-a` is reported and
 * then read as the three bytes `z`, `-`, `a` (what the C broker, which has no ranges, does).
 */
function parseBracket(
  src: Uint8Array,
  open: number,
  report: (at: number, message: string) => void,
): { set: ByteSet; next: number } | undefined {
  let i = open + 1;
  const negate = src[i] === CH_CARET;
  if (negate) i++;
  const set = emptySet();
  for (;;) {
    const c = src[i];
    if (c === undefined) return undefined;
    if (c === CH_RBRACKET) break;
    const first = bracketItem(src, i);
    if (first === undefined) return undefined;
    i = first.next;
    if (first.byte >= 0 && src[i] === CH_DASH && src[i + 1] !== undefined && src[i + 1] !== CH_RBRACKET) {
      const second = bracketItem(src, i + 1);
      if (second === undefined) return undefined;
      if (second.byte >= first.byte) {
        addRange(set, first.byte, second.byte);
      } else {
        if (second.byte >= 0) {
          report(open, `reversed range in character class at byte ${open}: ${first.byte} > ${second.byte}`);
          addByte(set, second.byte);
        }
        addByte(set, first.byte);
        addByte(set, CH_DASH);
      }
      i = second.next;
    } else if (first.byte >= 0) {
      addByte(set, first.byte);
    }
  }
  return { set: negate ? complement(set) : set, next: i + 1 };
}

/**
 * Compiles pattern bytes (already cut at the first NUL and checked against the length
 * limit) into an NFA program. Never throws.
 *
 * @example
 * ```ts
 * const { program, error } = compileProgram(new TextEncoder().encode("^temp\\d+$"));
 * error; // undefined
 * program.anchored; // true
 * ```
 */
export function compileProgram(src: Uint8Array): CompileResult {
  const b = new Builder();
  let error: string | undefined;
  const report = (_at: number, message: string): void => {
    if (error === undefined) error = message;
  };

  const root: Frame = { alts: [], seq: null, last: null, openAt: -1 };
  const stack: Frame[] = [root];
  let top = root;

  const addAtom = (f: Frag): void => {
    if (top.last !== null) top.seq = b.concat(top.seq, top.last);
    top.last = f;
  };
  const endSequence = (frame: Frame): Frag => {
    let f = frame.seq;
    if (frame.last !== null) f = b.concat(f, frame.last);
    return f ?? b.single(K_EPS);
  };
  const closeGroup = (): void => {
    top.alts.push(endSequence(top));
    const frag = b.alt(top.alts);
    stack.pop();
    top = stack[stack.length - 1] as Frame;
    addAtom(frag);
  };

  let i = 0;
  scan: while (i < src.length) {
    const c = src[i] as number;
    switch (c) {
      case CH_LPAREN:
        top = { alts: [], seq: null, last: null, openAt: i };
        stack.push(top);
        i++;
        break;
      case CH_RPAREN:
        if (stack.length === 1) report(i, `unbalanced parenthesis: ")" at byte ${i} has no matching "("`);
        else closeGroup();
        i++;
        break;
      case CH_PIPE:
        top.alts.push(endSequence(top));
        top.seq = null;
        top.last = null;
        i++;
        break;
      case CH_STAR:
      case CH_PLUS:
      case CH_QUEST: {
        if (top.last === null) {
          // The C broker ignores a "?" that opens the pattern or a group; "*" and "+" hang it,
          // and after "|" it quantifies the alternatives before it, which we do not copy.
          if (c !== CH_QUEST || top.alts.length > 0) report(i, `nothing to repeat: "${String.fromCharCode(c)}" at byte ${i} follows no atom`);
        } else {
          top.last = b.repeat(top.last, c);
        }
        i++;
        // `*?` and `+?` are the lazy forms; `??` is an optional optional.
        if (c !== CH_QUEST && src[i] === CH_QUEST) i++;
        break;
      }
      case CH_DOT:
        addAtom(b.set(fullSet()));
        i++;
        break;
      case CH_CARET:
        addAtom(b.single(K_BOL));
        i++;
        break;
      case CH_DOLLAR:
        addAtom(b.single(K_EOL));
        i++;
        break;
      case CH_LBRACKET: {
        const parsed = parseBracket(src, i, report);
        if (parsed === undefined) {
          // The C broker keeps what it compiled before the "[" and drops the rest.
          report(i, `unterminated character class: "[" at byte ${i} has no closing "]"`);
          break scan;
        }
        addAtom(b.set(parsed.set));
        i = parsed.next;
        break;
      }
      case CH_BACKSLASH: {
        const e = src[i + 1];
        if (e === undefined) {
          // The C broker accepts this and the dangling escape matches nothing.
          report(i, `trailing backslash at byte ${i}`);
          addAtom(b.set(emptySet()));
          i++;
          break;
        }
        addAtom(b.set(classEscape(e) ?? singleton(literalEscape(e))));
        i += 2;
        break;
      }
      default:
        addAtom(b.set(singleton(c)));
        i++;
    }
  }
  while (stack.length > 1) {
    report(top.openAt, `unbalanced parenthesis: "(" at byte ${top.openAt} is never closed`);
    closeGroup();
  }
  root.alts.push(endSequence(root));
  const program = b.finish(b.alt(root.alts), src[0] === CH_CARET);
  return error === undefined ? { program } : { program, error };
}

/**
 * If the pattern is a plain byte string with an optional leading `^` and trailing `$`
 * (e.g. `temp`, `^temp$`, `a\.b`), returns it so that matching can skip the NFA. A trailing
 * `.*` (with or without `$`) and, in an unanchored pattern, a leading `.*` change nothing about
 * whether a match exists, so `temp.*` and `.*temp` are literals too.
 *
 * @example
 * ```ts
 * literalForm(new TextEncoder().encode("^temp\\.x")); // bytes of "temp.x", bol: true, eol: false
 * literalForm(new TextEncoder().encode("temp.*")); // bytes of "temp", bol: false, eol: false
 * literalForm(new TextEncoder().encode("te*mp")); // undefined
 * ```
 */
export function literalForm(src: Uint8Array): { bytes: Uint8Array; bol: boolean; eol: boolean } | undefined {
  let i = 0;
  const bol = src[0] === CH_CARET;
  if (bol) i++;
  let end = src.length;
  let eol = end > i && src[end - 1] === CH_DOLLAR && !escapedAt(src, end - 1);
  if (eol) end--;
  // `.*` can always run to the end of the subject, so `$` after it holds too.
  const tail = dotStarEndingAt(src, end, i);
  if (tail > 0) {
    end -= tail;
    eol = false;
  }
  const lead = bol ? 0 : dotStarAt(src, i, end);
  i += lead;
  const out: number[] = [];
  while (i < end) {
    const c = src[i] as number;
    if (c === CH_BACKSLASH) {
      const e = src[i + 1];
      if (e === undefined || i + 1 >= end || classEscape(e) !== undefined) return undefined;
      out.push(literalEscape(e));
      i += 2;
      continue;
    }
    switch (c) {
      case CH_LPAREN:
      case CH_RPAREN:
      case CH_PIPE:
      case CH_STAR:
      case CH_PLUS:
      case CH_QUEST:
      case CH_DOT:
      case CH_CARET:
      case CH_DOLLAR:
      case CH_LBRACKET:
        return undefined;
    }
    out.push(c);
    i++;
  }
  // A leading `.*` before `$` alone would reach offset len, which a bare `$` never tries.
  if (lead > 0 && eol && out.length === 0) return undefined;
  return { bytes: Uint8Array.from(out), bol, eol };
}

/** Length (3 or 2) of an unescaped `.*?` or `.*` that ends at `end` and starts at or after `min`. */
function dotStarEndingAt(src: Uint8Array, end: number, min: number): number {
  for (const len of [3, 2]) {
    const at = end - len;
    if (at >= min && dotStarAt(src, at, end) === len) return len;
  }
  return 0;
}

/** Length (3 or 2) of an unescaped `.*?` or `.*` starting at `at` and within `end`, else 0. */
function dotStarAt(src: Uint8Array, at: number, end: number): number {
  if (at + 2 > end || src[at] !== CH_DOT || src[at + 1] !== CH_STAR || escapedAt(src, at)) return 0;
  return at + 3 <= end && src[at + 2] === CH_QUEST ? 3 : 2;
}

/** Whether the byte at `at` is escaped (preceded by an odd number of backslashes). */
function escapedAt(src: Uint8Array, at: number): boolean {
  let n = 0;
  for (let j = at - 1; j >= 0 && src[j] === CH_BACKSLASH; j--) n++;
  return (n & 1) === 1;
}
