/**
 * libsodium (its WASM build, `libsodium-wrappers`) as the CURVE back end: the handshake's key
 * agreements (`crypto_box_beforenm`, `crypto_scalarmult_base`) and, per message,
 * one copy of the plaintext into WASM memory, `crypto_box_easy_afternm` (XSalsa20-Poly1305,
 * the very function libzmq calls), and one copy of the box back out. The raw exports are
 * called on scratch buffers kept in WASM memory, because the wrappers' own functions allocate
 * and free several buffers and validate every argument per call, which costs more than the
 * cipher for small messages.
 *
 * Loading is asynchronous (WASM instantiation) while the mechanisms are synchronous per
 * message, so transports await `curveReady()` once before their first handshake and build
 * each connection's codec from `loadedCurveBoxes()` (noble until sodium has loaded).
 *
 * @example
 * ```ts
 * await curveReady();
 * const boxes = loadedCurveBoxes(); // sodium from now on
 * ```
 * @module
 */
import sodium from "libsodium-wrappers";
import { BOX_OVERHEAD, type CurveBoxes, type MessageBoxes, nobleBoxes } from "./box.ts";
import { ZmtpError } from "../../errors.ts";

/** The raw Emscripten exports used here (lengths are 64-bit: low then high 32 bits). */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_box_easy_afternm(c: number, m: number, mLo: number, mHi: number, n: number, k: number): number;
  _crypto_box_open_easy_afternm(m: number, c: number, cLo: number, cHi: number, n: number, k: number): number;
  _crypto_box_beforenm(k: number, pk: number, sk: number): number;
  _crypto_scalarmult_base(q: number, n: number): number;
}

/** Up to this many bytes are copied by a loop: cheaper than a subarray view and `set`. */
const SMALL = 64;

/** One direction of one connection: its key and the 16-byte nonce prefix. */
interface Direction {
  readonly key: Uint8Array;
  readonly prefix: Uint8Array;
}

/**
 * Scratch memory inside WASM shared by every connection (the calls are synchronous): the key
 * and nonce of the direction used last (copied again only when another one is used), then
 * the input and output areas, which grow to the largest message seen.
 */
class Scratch {
  readonly #raw: RawSodium;
  /** Key (32) then nonce (24). */
  readonly #kn: number;
  #last: Direction | undefined;
  #buf = 0;
  #cap = 0;

  constructor(raw: RawSodium) {
    this.#raw = raw;
    this.#kn = raw._malloc(56);
  }

  #reserve(size: number): number {
    if (size > this.#cap) {
      if (this.#buf !== 0) this.#raw._free(this.#buf);
      this.#cap = Math.max(size, 4096);
      this.#buf = this.#raw._malloc(2 * this.#cap);
      if (this.#buf === 0) throw new ZmtpError("ZMTP_CURVE_BOX", "libsodium is out of memory");
    }
    return this.#buf;
  }

  /** The key and nonce of `d` + `tail[from..from + 8]` in place; `heap` must be current (after any malloc). */
  #keyNonce(heap: Uint8Array, d: Direction, tail: Uint8Array, from: number): void {
    const kn = this.#kn;
    if (this.#last !== d) {
      heap.set(d.key, kn);
      heap.set(d.prefix, kn + 32);
      this.#last = d;
    }
    for (let i = 0; i < 8; i++) heap[kn + 48 + i] = tail[from + i] as number;
  }

  /** `crypto_box_beforenm`; the secret key is wiped from WASM memory afterwards. */
  boxKey(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    const at = this.#reserve(96);
    const heap = this.#raw.HEAPU8;
    heap.set(secretKey, at);
    heap.set(publicKey, at + 32);
    const failed = this.#raw._crypto_box_beforenm(at + 64, at + 32, at) !== 0;
    const key = heap.slice(at + 64, at + 96);
    heap.fill(0, at, at + 96);
    if (failed) throw new ZmtpError("ZMTP_CURVE_BOX", "unusable CURVE public key");
    return key;
  }

  publicKey(secretKey: Uint8Array): Uint8Array {
    const at = this.#reserve(64);
    const heap = this.#raw.HEAPU8;
    heap.set(secretKey, at);
    this.#raw._crypto_scalarmult_base(at + 32, at);
    const key = heap.slice(at + 32, at + 64);
    heap.fill(0, at, at + 64);
    return key;
  }

  seal(d: Direction, tail: Uint8Array, out: Uint8Array): void {
    const len = out.length - 32;
    const m = this.#reserve(len + BOX_OVERHEAD);
    const c = m + this.#cap;
    const heap = this.#raw.HEAPU8;
    this.#keyNonce(heap, d, tail, 0);
    if (len <= SMALL) for (let i = 0; i < len; i++) heap[m + i] = out[32 + i] as number;
    else heap.set(out.subarray(32), m);
    this.#raw._crypto_box_easy_afternm(c, m, len, 0, this.#kn + 32, this.#kn);
    const boxed = len + BOX_OVERHEAD;
    if (boxed <= SMALL) for (let i = 0; i < boxed; i++) out[16 + i] = heap[c + i] as number;
    else out.set(heap.subarray(c, c + boxed), 16);
  }

  open(d: Direction, frame: Uint8Array, at: number, what: string): Uint8Array {
    const size = frame.length - at;
    if (size < BOX_OVERHEAD) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", `CURVE ${what} is too short`);
    const c = this.#reserve(size);
    const m = c + this.#cap;
    const heap = this.#raw.HEAPU8;
    this.#keyNonce(heap, d, frame, at - 8);
    if (size <= SMALL) for (let i = 0; i < size; i++) heap[c + i] = frame[at + i] as number;
    else heap.set(frame.subarray(at), c);
    if (this.#raw._crypto_box_open_easy_afternm(m, c, size, 0, this.#kn + 32, this.#kn) !== 0) {
      throw new ZmtpError("ZMTP_CURVE_BOX", `CURVE ${what} does not authenticate (wrong key or tampered bytes)`);
    }
    return heap.slice(m, m + size - BOX_OVERHEAD);
  }
}

function sodiumBoxes(scratch: Scratch): CurveBoxes {
  return {
    name: "sodium",
    boxKey: (secretKey, publicKey) => scratch.boxKey(secretKey, publicKey),
    publicKey: (secretKey) => scratch.publicKey(secretKey),
    messageBoxes(key: Uint8Array, sendPrefix: Uint8Array, recvPrefix: Uint8Array): MessageBoxes {
      const send: Direction = { key: key.slice(), prefix: sendPrefix.slice(0, 16) };
      const recv: Direction = { key: send.key, prefix: recvPrefix.slice(0, 16) };
      return {
        seal: (tail, out) => scratch.seal(send, tail, out),
        open: (frame, at, what) => scratch.open(recv, frame, at, what),
      };
    },
  };
}

let loaded: CurveBoxes | undefined;
let loading: Promise<CurveBoxes> | undefined;
let preferred: CurveBoxes | undefined;

/**
 * Pins the back end new connections use (benchmarks compare noble and libsodium in one run);
 * `undefined` restores the default (libsodium once loaded).
 *
 * @example
 * ```ts
 * preferCurveBoxes(nobleBoxes);
 * ```
 */
export function preferCurveBoxes(boxes: CurveBoxes | undefined): void {
  preferred = boxes;
}

/**
 * Loads libsodium once; resolves to its MESSAGE back end, or to noble's when libsodium cannot
 * load here (the connection still works, only slower).
 *
 * @example
 * ```ts
 * await curveReady();
 * ```
 */
export function curveReady(): Promise<CurveBoxes> {
  loading ??= sodium.ready.then(
    () => (loaded = sodiumBoxes(new Scratch((sodium as unknown as { libsodium: RawSodium }).libsodium))),
    () => (loaded = nobleBoxes),
  );
  return loading;
}

/**
 * The best back end loaded so far: libsodium's once `curveReady()` has resolved, noble's before.
 *
 * @example
 * ```ts
 * new CurveServerMechanism({ ...keys, boxes: loadedCurveBoxes() });
 * ```
 */
export function loadedCurveBoxes(): CurveBoxes {
  return preferred ?? loaded ?? nobleBoxes;
}
