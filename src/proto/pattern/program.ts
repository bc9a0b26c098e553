/**
 * The compiled form of a stream/service pattern: a Thompson NFA stored in flat typed
 * arrays, so that matching touches no objects and allocates nothing.
 *
 * Node kinds: a SET node consumes one byte that is in its 256-bit set and goes to `out1`;
 * SPLIT goes to both `out1` and `out2` without consuming; EPS goes to `out1`; BOL and EOL
 * are the `^` and `$` assertions; MATCH accepts.
 *
 * @example
 * ```ts
 * import { compileProgram } from "./compile.ts";
 * const { program } = compileProgram(new TextEncoder().encode("a|b"));
 * program.kind.length; // number of NFA nodes
 * ```
 */
export interface Program {
  /** Node kind, one of the `K_*` constants. */
  readonly kind: Uint8Array;
  /** First successor of each node (-1 for MATCH). */
  readonly out1: Int32Array;
  /** Second successor of SPLIT nodes (-1 otherwise). */
  readonly out2: Int32Array;
  /** 8 × 32-bit words per node: the byte set of SET nodes (zero for the others). */
  readonly sets: Uint32Array;
  /** Entry node. */
  readonly start: number;
  /** The source starts with `^`: only start offset 0 is tried, as the C broker does. */
  readonly anchored: boolean;
}

/** Consumes one byte from its set. */
export const K_SET = 0;
/** ε to both successors. */
export const K_SPLIT = 1;
/** ε to `out1`. */
export const K_EPS = 2;
/** `^`: holds only at offset 0. */
export const K_BOL = 3;
/** `$`: holds only at the end of the subject. */
export const K_EOL = 4;
/** Accepts. */
export const K_MATCH = 5;
