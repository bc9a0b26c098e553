// Subject patterns of STREAM-READ and SERVICE-OFFER (mlm-protocol.md §7.1, design.md §3
// "patterns"). Syntax and search rules follow the C broker's zrex; the engine is our own
// Thompson NFA, so matching always terminates in O(pattern × subject). docs/patterns.md has
// the full syntax and every deliberate difference from the C broker.
import { compileProgram, literalForm } from "./compile.ts";
import { NfaMatcher } from "./nfa.ts";
import { SubjectEncoder, cStringLength } from "./subject.ts";

/**
 * Default cap on a pattern's length in UTF-8 bytes. Patterns that arrive over MLM are at most
 * 255 bytes (a `string` field), so this only bounds patterns given through the local API.
 */
export const DEFAULT_MAX_PATTERN_LENGTH = 1024;

/**
 * Limits applied when compiling a pattern.
 *
 * @example
 * ```ts
 * const p = compilePattern(userInput, { maxLength: 255 });
 * ```
 */
export interface PatternLimits {
  /** Maximum pattern length in UTF-8 bytes (default {@link DEFAULT_MAX_PATTERN_LENGTH}). */
  readonly maxLength?: number;
}

/**
 * A compiled subject pattern.
 *
 * @example
 * ```ts
 * const p = compilePattern("^temp\\.");
 * p.valid; // true
 * p.matches("temp.kitchen"); // true
 * p.matches(new TextEncoder().encode("humidity")); // false
 * ```
 */
export interface Pattern {
  /** The pattern text as given. */
  readonly source: string;
  /** False when the source has a syntax error or is over the length limit (see `error`). */
  readonly valid: boolean;
  /** What is wrong with an invalid pattern; absent when `valid`. */
  readonly error?: string;
  /**
   * Whether the pattern matches `subject` (a string is matched as its UTF-8 bytes; both stop
   * at the first NUL). An invalid pattern still answers, as documented in docs/patterns.md.
   */
  matches(subject: string | Uint8Array): boolean;
  /**
   * For an anchored ASCII literal (`^temp\.kitchen$`): the one subject it matches (up to a NUL),
   * so a broker can look such patterns up in a map instead of matching each one.
   */
  readonly exact?: string;
}

const MODE_NEVER = 0;
const MODE_ANY_NON_EMPTY = 1;
const MODE_LITERAL = 2;
const MODE_NFA = 3;

/** One scratch buffer for all patterns: matching is synchronous, so calls never overlap. */
const encoder = new SubjectEncoder();

class CompiledPattern implements Pattern {
  readonly source: string;
  readonly valid: boolean;
  declare readonly error?: string;
  declare readonly exact?: string;
  private readonly mode: number;
  private readonly nfa: NfaMatcher | undefined;
  private readonly literal: Uint8Array;
  /** The literal as a string when it is plain ASCII, so string subjects skip UTF-8 encoding. */
  private readonly literalText: string | undefined;
  private readonly bol: boolean;
  private readonly eol: boolean;

  constructor(
    source: string,
    error: string | undefined,
    mode: number,
    nfa?: NfaMatcher,
    literal?: { bytes: Uint8Array; bol: boolean; eol: boolean },
  ) {
    this.source = source;
    this.valid = error === undefined;
    if (error !== undefined) this.error = error;
    this.mode = mode;
    this.nfa = nfa;
    this.literal = literal?.bytes ?? new Uint8Array(0);
    this.bol = literal?.bol ?? false;
    this.eol = literal?.eol ?? false;
    this.literalText = literal !== undefined ? asciiText(this.literal) : undefined;
    if (this.literalText !== undefined && this.bol && this.eol && error === undefined) this.exact = this.literalText;
  }

  matches(subject: string | Uint8Array): boolean {
    if (typeof subject === "string") {
      switch (this.mode) {
        case MODE_ANY_NON_EMPTY:
          return subject.length > 0 && subject.charCodeAt(0) !== 0;
        case MODE_LITERAL:
          if (this.literalText !== undefined) return this.literalInString(subject, this.literalText);
          break;
        case MODE_NEVER:
          return false;
      }
      const len = encoder.encode(subject);
      const result = this.matchBytes(encoder.buf, len);
      encoder.release();
      return result;
    }
    if (!(subject instanceof Uint8Array)) return false;
    return this.matchBytes(subject, cStringLength(subject));
  }

  private matchBytes(buf: Uint8Array, len: number): boolean {
    switch (this.mode) {
      case MODE_NFA:
        return (this.nfa as NfaMatcher).test(buf, len);
      case MODE_LITERAL:
        return this.literalInBytes(buf, len);
      case MODE_ANY_NON_EMPTY:
        return len > 0;
      default:
        return false;
    }
  }

  private literalInBytes(buf: Uint8Array, len: number): boolean {
    const lit = this.literal;
    const m = lit.length;
    if (this.bol) return this.eol ? len === m && bytesAt(buf, 0, lit) : len >= m && bytesAt(buf, 0, lit);
    // Offset len is never tried, so "$" alone never matches but "temp$" matches "temp".
    if (this.eol) return m > 0 && len >= m && bytesAt(buf, len - m, lit);
    if (m === 0) return len > 0;
    const first = lit[0] as number;
    const last = len - m;
    for (let at = 0; at <= last; at++) {
      if (buf[at] === first && bytesAt(buf, at, lit)) return true;
    }
    return false;
  }

  /** An ASCII literal occurs in the UTF-8 bytes exactly where it occurs in the UTF-16 text. */
  private literalInString(s: string, lit: string): boolean {
    const nul = s.indexOf("\0");
    const end = nul < 0 ? s.length : nul;
    const m = lit.length;
    if (this.bol) return (this.eol ? end === m : m <= end) && s.startsWith(lit);
    if (this.eol) return m > 0 && end >= m && s.startsWith(lit, end - m);
    if (m === 0) return end > 0;
    const at = s.indexOf(lit);
    return at >= 0 && at + m <= end;
  }
}

/** The bytes as a string when they are plain ASCII without NUL, else undefined. */
function asciiText(bytes: Uint8Array): string | undefined {
  return bytes.every((b) => b > 0 && b < 0x80) ? String.fromCharCode(...bytes) : undefined;
}

function bytesAt(buf: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let i = 0; i < lit.length; i++) if (buf[at + i] !== lit[i]) return false;
  return true;
}

function maxLengthOf(limits: PatternLimits | undefined): number {
  const n = limits?.maxLength;
  return typeof n === "number" && n >= 0 ? Math.floor(n) : DEFAULT_MAX_PATTERN_LENGTH;
}

/** The pattern up to its first NUL, and its UTF-8 bytes unless it is longer than `max` UTF-16 units. */
function sourceBytes(source: string, max: number): { text: string; bytes: Uint8Array | undefined } {
  // The C broker sees the pattern as a C string: nothing after a NUL exists for it.
  const nul = source.indexOf("\0");
  const text = nul < 0 ? source : source.slice(0, nul);
  // UTF-8 never has fewer bytes than UTF-16 units, so an over-long string is rejected unencoded.
  return { text, bytes: text.length > max ? undefined : new TextEncoder().encode(text) };
}

function build(source: string, limits: PatternLimits | undefined): Pattern {
  if (typeof source !== "string") {
    return new CompiledPattern(String(source), "pattern must be a string", MODE_NEVER);
  }
  const max = maxLengthOf(limits);
  const { text, bytes } = sourceBytes(source, max);
  if (bytes === undefined || bytes.length > max) {
    const size = bytes?.length ?? text.length;
    const atLeast = bytes === undefined ? "at least " : "";
    return new CompiledPattern(
      source,
      `pattern too long: ${atLeast}${size} bytes, the limit is ${max}`,
      MODE_ANY_NON_EMPTY,
    );
  }
  const { program, error } = compileProgram(bytes);
  if (error === undefined) {
    const literal = literalForm(bytes);
    if (literal !== undefined) return new CompiledPattern(source, undefined, MODE_LITERAL, undefined, literal);
  }
  return new CompiledPattern(source, error, MODE_NFA, new NfaMatcher(program));
}

/**
 * Compiles a stream/service subject pattern (zrex syntax, unanchored search; see
 * docs/patterns.md). Never throws: a bad pattern comes back with `valid: false`, an `error`,
 * and a documented, always-terminating behaviour.
 *
 * @example
 * ```ts
 * const p = compilePattern("temp|humid");
 * p.matches("room.temp.1"); // true: search, not full match
 * compilePattern("[0-9]+").matches("sensor-42"); // true
 * compilePattern("(oops").valid; // false
 * ```
 */
export function compilePattern(source: string, limits?: PatternLimits): Pattern {
  try {
    return build(source, limits);
  } catch (err) {
    // Only resource exhaustion can get here; the pattern is reported, not thrown.
    const text = typeof source === "string" ? source : "";
    return new CompiledPattern(text, `pattern could not be compiled: ${String(err)}`, MODE_NEVER);
  }
}

/**
 * What `compilePattern(source, limits).exact` is, found without compiling: the one subject an
 * anchored ASCII literal (`^temp\.kitchen$`) matches, else undefined. Costs a scan of the
 * source, so a broker can index such subscriptions cheaply and compile the others only when a
 * message has to be matched against them.
 *
 * @example
 * ```ts
 * exactSubject("^temp\\.kitchen$"); // "temp.kitchen"
 * exactSubject("^temp\\.k.*n$"); // undefined
 * ```
 */
export function exactSubject(source: string, limits?: PatternLimits): string | undefined {
  if (typeof source !== "string") return undefined;
  const max = maxLengthOf(limits);
  const { bytes } = sourceBytes(source, max);
  if (bytes === undefined || bytes.length > max) return undefined;
  // Every source literalForm accepts also compiles without error (it refuses all the syntax that can fail).
  const literal = literalForm(bytes);
  return literal !== undefined && literal.bol && literal.eol ? asciiText(literal.bytes) : undefined;
}

/**
 * Whether `source` is a well-formed pattern within the limits (what the C client checks
 * before sending STREAM-READ).
 *
 * @example
 * ```ts
 * isValidPattern("^temp\\.\\d+$"); // true
 * isValidPattern("["); // false
 * ```
 */
export function isValidPattern(source: string, limits?: PatternLimits): boolean {
  return compilePattern(source, limits).valid;
}
