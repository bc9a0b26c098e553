/**
 * The NaCl `crypto_box` operations CurveZMQ is built on, composed from audited primitives
 * (`@noble/curves` X25519, `@noble/ciphers` HSalsa20 and XSalsa20-Poly1305): nothing here is
 * a hand-written cipher. A box on the wire is the 16-byte Poly1305 tag then the ciphertext,
 * exactly libsodium's `crypto_box` output without its 16 leading zero bytes.
 *
 * @example
 * ```ts
 * const key = boxKey(mySecret, theirPublic); // crypto_box_beforenm
 * const box = seal(key, nonce24, plaintext);
 * const back = open(key, nonce24, box);
 * ```
 * @module
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { hsalsa, salsa20, xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import { poly1305 } from "@noble/ciphers/_poly1305.js";
import { randomBytes } from "@noble/ciphers/utils.js";
import { ZmtpError } from "../../errors.ts";

/** Length of a CURVE public or secret key, in bytes. */
export const KEY_SIZE = 32;
/** Bytes a box adds to its plaintext (the Poly1305 tag). */
export const BOX_OVERHEAD = 16;

/** Source of random bytes (tests inject a deterministic one). */
export type RandomSource = (n: number) => Uint8Array;

/** The default random source: the runtime's CSPRNG through `@noble/ciphers`. */
export const systemRandom: RandomSource = (n) => randomBytes(n);

/** A CURVE key pair, raw 32-byte keys. */
export interface CurveKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

const SIGMA = new Uint32Array(new TextEncoder().encode("expand 32-byte k").buffer);
const ZERO16 = new Uint32Array(4);

/**
 * A fresh X25519 key pair (what `zmq_curve_keypair` makes).
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = curveKeyPair();
 * ```
 */
export function curveKeyPair(random: RandomSource = systemRandom): CurveKeyPair {
  const secretKey = random(KEY_SIZE);
  return { publicKey: x25519.getPublicKey(secretKey), secretKey };
}

/**
 * The public key of a secret key (what `zmq_curve_public` computes).
 *
 * @example
 * ```ts
 * curvePublicKey(secretKey); // 32 bytes
 * ```
 */
export function curvePublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/**
 * `crypto_box_beforenm`: the XSalsa20-Poly1305 key shared by `secretKey`'s owner and
 * `publicKey`'s. A low-order public key (whose shared secret would be all zeros) is refused.
 *
 * @throws ZmtpError `ZMTP_CURVE_BOX` for an unusable public key.
 * @example
 * ```ts
 * const k = boxKey(clientTransientSecret, serverPublic);
 * ```
 */
export function boxKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, publicKey);
  } catch (cause) {
    throw new ZmtpError("ZMTP_CURVE_BOX", "unusable CURVE public key", { cause });
  }
  const k = new Uint32Array(8);
  new Uint8Array(k.buffer).set(shared);
  const out = new Uint32Array(8);
  hsalsa(SIGMA, k, ZERO16, out);
  shared.fill(0);
  k.fill(0);
  return new Uint8Array(out.buffer);
}

/**
 * Box `plaintext` (`crypto_box_afternm`): returns tag then ciphertext, 16 bytes longer.
 *
 * @example
 * ```ts
 * const box = seal(key, nonce24, new Uint8Array(64));
 * ```
 */
export function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return xsalsa20poly1305(key, nonce).encrypt(plaintext);
}

/**
 * Open a box (`crypto_box_open_afternm`).
 *
 * @throws ZmtpError `ZMTP_CURVE_BOX` when it does not authenticate (wrong key, tampered bytes).
 * @example
 * ```ts
 * const plaintext = open(key, nonce24, box);
 * ```
 */
export function open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, what = "box"): Uint8Array {
  if (box.length < BOX_OVERHEAD) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", `CURVE ${what} is too short`);
  try {
    return xsalsa20poly1305(key, nonce).decrypt(box, new Uint8Array(box.length + 32)).subarray(0);
  } catch (cause) {
    throw new ZmtpError("ZMTP_CURVE_BOX", `CURVE ${what} does not authenticate (wrong key or tampered bytes)`, { cause });
  }
}

/**
 * The XSalsa20 subkey of `key` for nonces starting with `prefix` (16 bytes): HSalsa20, the
 * first half of XSalsa20. MESSAGE nonces all share their 16-byte prefix, so this is computed
 * once per direction instead of once per message; each box then costs one Salsa20 pass and
 * one Poly1305, exactly what `xsalsa20poly1305` does after its own HSalsa20.
 *
 * @example
 * ```ts
 * const sub = subkey(sessionKey, nonce("CurveZMQMESSAGEC", new Uint8Array(8)).subarray(0, 16));
 * ```
 */
export function subkey(key: Uint8Array, prefix: Uint8Array): Uint8Array {
  const k = new Uint32Array(8);
  new Uint8Array(k.buffer).set(key);
  const p = new Uint32Array(4);
  new Uint8Array(p.buffer).set(prefix.subarray(0, 16));
  const out = new Uint32Array(8);
  hsalsa(SIGMA, k, p, out);
  k.fill(0);
  return new Uint8Array(out.buffer);
}

/**
 * `xsalsa20poly1305` with a precomputed `subkey` and the 8-byte rest of the nonce, in place:
 * `out[32..]` holds the plaintext and `out[0..32]` anything; afterwards `out[16..32]` is the
 * tag and `out[32..]` the ciphertext (so `out[16..]` is the box).
 *
 * @example
 * ```ts
 * out.set(plaintext, 32);
 * sealWithSubkey(sub, shortNonce, out);
 * ```
 */
export function sealWithSubkey(sub: Uint8Array, tail: Uint8Array, out: Uint8Array): void {
  out.fill(0, 0, 32);
  salsa20(sub, tail, out, out);
  const tag = poly1305(out.subarray(32), out.subarray(0, 32));
  out.set(tag, 16);
  out.fill(0, 0, 16);
}

/**
 * Open a box sealed with `sealWithSubkey` into a new buffer; returns the plaintext (a view).
 * The tag is checked before anything is returned.
 *
 * @throws ZmtpError `ZMTP_CURVE_BOX` when it does not authenticate.
 * @example
 * ```ts
 * const plaintext = openWithSubkey(sub, shortNonce, box);
 * ```
 */
export function openWithSubkey(sub: Uint8Array, tail: Uint8Array, box: Uint8Array, what = "box"): Uint8Array {
  if (box.length < BOX_OVERHEAD) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", `CURVE ${what} is too short`);
  const ciphertext = box.subarray(BOX_OVERHEAD);
  const out = new Uint8Array(32 + ciphertext.length);
  out.set(ciphertext, 32);
  // One Salsa20 pass yields the Poly1305 key (first 32 bytes) and the plaintext; the
  // plaintext is dropped unless the tag over the ciphertext matches.
  salsa20(sub, tail, out, out);
  if (!sameBytes(poly1305(ciphertext, out.subarray(0, 32)), box.subarray(0, BOX_OVERHEAD))) {
    out.fill(0);
    throw new ZmtpError("ZMTP_CURVE_BOX", `CURVE ${what} does not authenticate (wrong key or tampered bytes)`);
  }
  return out.subarray(32);
}

/** A 24-byte nonce: an ASCII prefix then `tail` (8 or 16 bytes). */
export function nonce(prefix: string, tail: Uint8Array): Uint8Array {
  const n = new Uint8Array(24);
  for (let i = 0; i < prefix.length; i++) n[i] = prefix.charCodeAt(i);
  n.set(tail, prefix.length);
  return n;
}

/** Constant-time comparison of two equal-length byte strings. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * The MESSAGE boxes of one connection's two directions: `seal` and `open` take the 8-byte
 * short nonce tail (the 16-byte `CurveZMQMESSAGE?` prefix is fixed per direction).
 */
export interface MessageBoxes {
  /** As `sealWithSubkey`: `out[32..]` plaintext in, `out[16..]` box out; `out[0..16]` is left unspecified (the codec writes the MESSAGE name and nonce there). */
  seal(tail: Uint8Array, out: Uint8Array): void;
  /**
   * The plaintext of the box `frame[at..]` (tag then ciphertext) whose nonce tail is
   * `frame[at - 8..at]` (offsets rather than views: received frames are often Node Buffers,
   * whose views are costly). @throws ZmtpError `ZMTP_CURVE_BOX`.
   */
  open(frame: Uint8Array, at: number, what: string): Uint8Array;
}

/**
 * A crypto back end for MESSAGE boxes: `@noble` (pure JS, always available) or libsodium's
 * WASM build once loaded (see `curveReady` in sodium.ts). Both produce the same bytes.
 *
 * @example
 * ```ts
 * const boxes = nobleBoxes.messageBoxes(sessionKey, sendPrefix16, recvPrefix16);
 * ```
 */
export interface CurveBoxes {
  readonly name: string;
  /** `crypto_box_beforenm`, as `boxKey`. @throws ZmtpError `ZMTP_CURVE_BOX` for an unusable public key. */
  boxKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /** The public key of a secret key, as `curvePublicKey`. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  messageBoxes(key: Uint8Array, sendPrefix: Uint8Array, recvPrefix: Uint8Array): MessageBoxes;
}

/**
 * The pure-JS back end: per-direction HSalsa20 subkeys computed once, then Salsa20 + Poly1305.
 *
 * @example
 * ```ts
 * new CurveServerMechanism({ publicKey, secretKey, boxes: nobleBoxes });
 * ```
 */
export const nobleBoxes: CurveBoxes = {
  name: "noble",
  boxKey,
  publicKey: curvePublicKey,
  messageBoxes(key, sendPrefix, recvPrefix) {
    const send = subkey(key, sendPrefix);
    const recv = subkey(key, recvPrefix);
    return {
      seal: (tail, out) => sealWithSubkey(send, tail, out),
      open: (frame, at, what) => openWithSubkey(recv, frame.subarray(at - 8, at), frame.subarray(at), what),
    };
  },
};
