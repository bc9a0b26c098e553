/**
 * 256-bit byte sets used by the pattern compiler (`[...]`, `.`, `\d` and friends).
 * A set is a `Uint32Array(8)`; bit `b` of the set is bit `b & 31` of word `b >>> 5`.
 *
 * @example
 * ```ts
 * const digits = emptySet();
 * addRange(digits, 0x30, 0x39);
 * hasByte(digits, 0x35); // true
 * ```
 */
export type ByteSet = Uint32Array;

/**
 * A set with no bytes.
 *
 * @example
 * ```ts
 * const s = emptySet(); addByte(s, 0x61);
 * ```
 */
export function emptySet(): ByteSet {
  return new Uint32Array(8);
}

/**
 * A set with all 256 bytes (what `.` matches).
 *
 * @example
 * ```ts
 * hasByte(fullSet(), 0x0a); // true: `.` matches newline, as in the C broker
 * ```
 */
export function fullSet(): ByteSet {
  return new Uint32Array(8).fill(0xffffffff);
}

/**
 * Adds byte `b` (0..255) to `set`.
 *
 * @example
 * ```ts
 * const s = emptySet(); addByte(s, 0x2d); // "-"
 * ```
 */
export function addByte(set: ByteSet, b: number): void {
  set[b >>> 5] = ((set[b >>> 5] as number) | (1 << (b & 31))) >>> 0;
}

/**
 * Adds bytes `lo..hi` inclusive to `set` (nothing when `lo > hi`).
 *
 * @example
 * ```ts
 * const s = emptySet(); addRange(s, 0x61, 0x7a); // a-z
 * ```
 */
export function addRange(set: ByteSet, lo: number, hi: number): void {
  for (let b = lo; b <= hi; b++) addByte(set, b);
}

/**
 * Whether `set` holds byte `b`.
 *
 * @example
 * ```ts
 * hasByte(singleton(0x61), 0x61); // true
 * ```
 */
export function hasByte(set: ByteSet, b: number): boolean {
  return (((set[b >>> 5] as number) >>> (b & 31)) & 1) === 1;
}

/**
 * A set holding only byte `b`.
 *
 * @example
 * ```ts
 * const a = singleton(0x61);
 * ```
 */
export function singleton(b: number): ByteSet {
  const s = emptySet();
  addByte(s, b);
  return s;
}

/**
 * Flips every bit of `set` in place (for `[^...]`, `\D`, `\S`, ...).
 *
 * @example
 * ```ts
 * const notA = complement(singleton(0x61));
 * ```
 */
export function complement(set: ByteSet): ByteSet {
  for (let i = 0; i < 8; i++) set[i] = ~(set[i] as number) >>> 0;
  return set;
}

/**
 * The set for a class escape letter (`s S d D a A w W`), or `undefined` when `letter` is not
 * one. Classes follow C's `isspace`/`isdigit`/`isalpha`/`isalnum` in the C locale: ASCII only,
 * and `\w` has no underscore.
 *
 * @example
 * ```ts
 * classEscape(0x64); // \d → the set 0-9
 * classEscape(0x78); // \x → undefined (not a class)
 * ```
 */
export function classEscape(letter: number): ByteSet | undefined {
  const s = emptySet();
  switch (letter | 0x20) {
    case 0x73: // s: space, \t \n \v \f \r
      addByte(s, 0x20);
      addRange(s, 0x09, 0x0d);
      break;
    case 0x64: // d
      addRange(s, 0x30, 0x39);
      break;
    case 0x61: // a
      addRange(s, 0x41, 0x5a);
      addRange(s, 0x61, 0x7a);
      break;
    case 0x77: // w: alphanumeric
      addRange(s, 0x30, 0x39);
      addRange(s, 0x41, 0x5a);
      addRange(s, 0x61, 0x7a);
      break;
    default:
      return undefined;
  }
  // Upper case letters (0x41..0x5a) name the complement.
  return letter < 0x60 ? complement(s) : s;
}

/**
 * The byte a non-class escape stands for: `\n \r \t \0` are control bytes, any other
 * escaped byte stands for itself (so `\.` is a dot and `\x41` is `x41`, as in the C broker).
 *
 * @example
 * ```ts
 * literalEscape(0x6e); // 0x0a
 * literalEscape(0x2e); // 0x2e
 * ```
 */
export function literalEscape(letter: number): number {
  switch (letter) {
    case 0x6e:
      return 0x0a;
    case 0x72:
      return 0x0d;
    case 0x74:
      return 0x09;
    case 0x30:
      return 0x00;
    default:
      return letter;
  }
}
