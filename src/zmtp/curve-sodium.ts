/**
 * libsodium (its WASM build, `libsodium-wrappers`) as the CURVE MESSAGE back end: per message,
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
import { BOX_OVERHEAD, type CurveBoxes, type MessageBoxes, nobleBoxes } from "./curve-box.ts";
import { ZmtpError } from "./errors.ts";

/** The raw Emscripten exports used here (lengths are 64-bit: low then high 32 bits). */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_box_easy_afternm(c: number, m: number, mLo: number, mHi: number, n: number, k: number): number;
  _crypto_box_open_easy_afternm(m: number, c: number, cLo: number, cHi: number, n: number, k: number): number;
}

/** Scratch memory inside WASM shared by every connection (the calls are synchronous). */
class Scratch {
  readonly #raw: RawSodium;
  /** Key (32) then nonce (24). */
  readonly #kn: number;
  #buf = 0;
  #cap = 0;

  constructor(raw: RawSodium) {
    this.#raw = raw;
    this.#kn = raw._malloc(56);
  }

  /** Room for input and output of `size` bytes each; grows to the largest message seen. */
  #reserve(size: number): number {
    if (size > this.#cap) {
      if (this.#buf !== 0) this.#raw._free(this.#buf);
      this.#cap = Math.max(size, 4096);
      this.#buf = this.#raw._malloc(2 * this.#cap);
      if (this.#buf === 0) throw new ZmtpError("ZMTP_CURVE_BOX", "libsodium is out of memory");
    }
    return this.#buf;
  }

  #keyNonce(heap: Uint8Array, key: Uint8Array, nonce: Uint8Array): void {
    heap.set(key, this.#kn);
    heap.set(nonce, this.#kn + 32);
  }

  seal(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): void {
    const len = out.length - 32;
    const m = this.#reserve(len + BOX_OVERHEAD);
    const c = m + this.#cap;
    const heap = this.#raw.HEAPU8;
    this.#keyNonce(heap, key, nonce);
    heap.set(out.subarray(32), m);
    this.#raw._crypto_box_easy_afternm(c, m, len, 0, this.#kn + 32, this.#kn);
    out.set(heap.subarray(c, c + len + BOX_OVERHEAD), 16);
    out.fill(0, 0, 16);
  }

  open(key: Uint8Array, nonce: Uint8Array, box: Uint8Array, what: string): Uint8Array {
    if (box.length < BOX_OVERHEAD) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", `CURVE ${what} is too short`);
    const c = this.#reserve(box.length);
    const m = c + this.#cap;
    const heap = this.#raw.HEAPU8;
    this.#keyNonce(heap, key, nonce);
    heap.set(box, c);
    if (this.#raw._crypto_box_open_easy_afternm(m, c, box.length, 0, this.#kn + 32, this.#kn) !== 0) {
      throw new ZmtpError("ZMTP_CURVE_BOX", `CURVE ${what} does not authenticate (wrong key or tampered bytes)`);
    }
    return heap.slice(m, m + box.length - BOX_OVERHEAD);
  }
}

function sodiumBoxes(scratch: Scratch): CurveBoxes {
  return {
    name: "sodium",
    messageBoxes(key: Uint8Array, sendPrefix: Uint8Array, recvPrefix: Uint8Array): MessageBoxes {
      const k = key.slice();
      const sendNonce = new Uint8Array(24);
      sendNonce.set(sendPrefix.subarray(0, 16));
      const recvNonce = new Uint8Array(24);
      recvNonce.set(recvPrefix.subarray(0, 16));
      return {
        seal(tail, out) {
          sendNonce.set(tail, 16);
          scratch.seal(k, sendNonce, out);
        },
        open(tail, box, what) {
          recvNonce.set(tail, 16);
          return scratch.open(k, recvNonce, box, what);
        },
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
