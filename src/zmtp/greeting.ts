import { ZmtpError } from "./errors.ts";

/** Length of a ZMTP 3.x greeting. */
export const GREETING_SIZE = 64;

/** Mechanism names this engine knows how to put in a greeting. */
export type MechanismName = "NULL" | "PLAIN" | "CURVE";

/**
 * Build our 64-byte ZMTP 3.1 greeting. The whole greeting is sent at once: libzmq only sends
 * its version byte after seeing ours, so waiting for the peer's greeting would deadlock.
 *
 * @example
 * ```ts
 * const bytes = encodeGreeting("NULL", false); // ff 00*8 7f 03 01 "NULL" ...
 * ```
 */
export function encodeGreeting(mechanism: MechanismName, asServer: boolean): Uint8Array {
  const g = new Uint8Array(GREETING_SIZE);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 1;
  for (let i = 0; i < mechanism.length; i++) g[12 + i] = mechanism.charCodeAt(i);
  g[32] = asServer ? 1 : 0;
  return g;
}

/** What we learnt from the peer's greeting. */
export interface PeerGreeting {
  major: number;
  minor: number;
  mechanism: string;
  /** Informational only: libzmq always sends 0, so the role comes from local configuration. */
  asServer: boolean;
}

/**
 * Incremental parser of the peer's greeting. Validation happens as early as the bytes allow,
 * so garbage (say, an HTTP request) is refused at its first byte instead of after 64.
 *
 * @example
 * ```ts
 * const p = new GreetingParser("NULL");
 * const used = p.push(chunk, 0); // bytes consumed; p.done tells whether the greeting is complete
 * ```
 */
export class GreetingParser {
  readonly #expected: Uint8Array;
  readonly #name: MechanismName;
  readonly #buf = new Uint8Array(GREETING_SIZE);
  #have = 0;
  result: PeerGreeting | undefined;

  constructor(mechanism: MechanismName) {
    this.#expected = new Uint8Array(20);
    this.#name = mechanism;
    for (let i = 0; i < mechanism.length; i++) this.#expected[i] = mechanism.charCodeAt(i);
  }

  get done(): boolean {
    return this.result !== undefined;
  }

  /**
   * Consume greeting bytes from `chunk` starting at `offset`; returns how many were used.
   * Throws ZmtpError on invalid input.
   */
  push(chunk: Uint8Array, offset: number): number {
    const take = Math.min(GREETING_SIZE - this.#have, chunk.length - offset);
    const start = this.#have;
    this.#buf.set(chunk.subarray(offset, offset + take), start);
    this.#have += take;
    const buf = this.#buf;
    if (start === 0 && this.#have > 0 && buf[0] !== 0xff) {
      throw new ZmtpError("ZMTP_BAD_GREETING", `bad greeting: first byte is 0x${hex(buf[0])}, expected 0xff`);
    }
    if (start <= 9 && this.#have > 9 && ((buf[9] as number) & 1) === 0) {
      throw new ZmtpError("ZMTP_BAD_GREETING", `bad greeting: signature byte 9 is 0x${hex(buf[9])} (ZMTP 1.0 peer?)`);
    }
    if (start <= 10 && this.#have > 10 && (buf[10] as number) < 3) {
      throw new ZmtpError("ZMTP_BAD_VERSION", `peer speaks ZMTP major version ${buf[10]}, need 3 or later`);
    }
    if (this.#have === GREETING_SIZE) {
      const mech = buf.subarray(12, 32);
      const name = mechanismName(mech);
      for (let i = 0; i < 20; i++) {
        if (mech[i] !== this.#expected[i]) {
          throw new ZmtpError(
            "ZMTP_MECHANISM_MISMATCH",
            `peer uses mechanism "${escaped(name)}", this socket uses "${this.#name}"`,
          );
        }
      }
      this.result = {
        major: buf[10] as number,
        minor: buf[11] as number,
        mechanism: this.#name,
        asServer: buf[32] === 1,
      };
    }
    return take;
  }
}

function hex(n: number | undefined): string {
  return (n ?? 0).toString(16).padStart(2, "0");
}

/**
 * The name in a greeting's 20-byte mechanism field, which must be NUL-padded: anything after
 * the first NUL but more NULs would otherwise pass for a known name (`NULL\0X` is not NULL).
 */
function mechanismName(field: Uint8Array): Uint8Array {
  let end = field.indexOf(0);
  if (end < 0) end = field.length;
  let last = field.length;
  while (last > end && field[last - 1] === 0) last--;
  if (last > end) {
    throw new ZmtpError(
      "ZMTP_BAD_GREETING",
      `bad greeting: mechanism field "${escaped(field.subarray(0, last))}" is not a NUL-padded name`,
    );
  }
  return field.subarray(0, end);
}

/** Bytes as a quotable string: printable ASCII as is, everything else (and `"`, `\\`) escaped. */
function escaped(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) s += "\\" + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${hex(b)}`;
  }
  return s;
}
