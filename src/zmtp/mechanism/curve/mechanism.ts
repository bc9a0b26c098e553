// The CURVE handshake (RFC 26, CurveZMQ) for clients and servers; installs the frame codec.
import { type Command, decodeErrorReason, encodeCommand } from "../../commands.ts";
import {
  type CurveBoxes, type CurveKeyPair, KEY_SIZE, nobleBoxes, nonce, open, type RandomSource, sameBytes, seal, systemRandom,
} from "./box.ts";
import { CurveCodec } from "./codec.ts";
import { ZmtpError } from "../../errors.ts";
import type { FrameCodec, Mechanism, MechanismContext } from "../types.ts";
import { decodeZ85 } from "../../z85.ts";
import { concatBytes } from "../../../util/bytes.ts";

// Byte layouts of RFC 26 as libzmq 4.3 implements them (curve_client.cpp, curve_server.cpp).
// Offsets are into a command's data, after its name.
/** HELLO: version 1.0 (2), padding (72), C' (32), short nonce (8), Box[64 zeros](C'→S) (80). */
const HELLO_SIZE = 194;
/** WELCOME: long nonce (16), Box[S' + cookie](S→C') (144). */
const WELCOME_SIZE = 160;
/** Cookie: long nonce (16), Box[C' + s'](K) (80). */
const COOKIE_SIZE = 96;
/** INITIATE: cookie (96), short nonce (8), Box[C + vouch nonce + vouch + metadata](C'→S') (≥ 144). */
const INITIATE_MIN = 248;
/** READY: short nonce (8), Box[metadata](S'→C') (≥ 16). */
const READY_MIN = 24;
/** The first short nonce of each direction, as libzmq's `cn_nonce` starts. */
const FIRST_NONCE = 1;

/** A CURVE key: 32 raw bytes, or their 40-character Z85 text. */
export type CurveKey = Uint8Array | string;

/** Keys and options of a CURVE client (raw 32-byte keys; see `curveKey` for Z85). */
export interface CurveClientKeys {
  /** The server's long-term public key. */
  serverKey: Uint8Array;
  /** Our long-term key pair, which the server may authorize. */
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** Random bytes for transient keys and nonces. Default: the runtime's CSPRNG. */
  random?: RandomSource;
  /** MESSAGE crypto back end. Default: noble (see `loadedCurveBoxes` for libsodium). */
  boxes?: CurveBoxes;
}

/** Keys and options of a CURVE server (raw 32-byte keys). */
export interface CurveServerKeys {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** Random bytes for transient keys, cookie keys and nonces. Default: the runtime's CSPRNG. */
  random?: RandomSource;
  /** MESSAGE crypto back end. Default: noble (see `loadedCurveBoxes` for libsodium). */
  boxes?: CurveBoxes;
}

/** 8-byte big-endian short nonce. */
function shortNonce(n: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(n / 0x100000000));
  v.setUint32(4, n >>> 0);
  return b;
}

/** A transient key pair: a random secret and its public key by the back end. */
function transientKeyPair(boxes: CurveBoxes, random: RandomSource): CurveKeyPair {
  const secretKey = random(KEY_SIZE);
  return { publicKey: boxes.publicKey(secretKey), secretKey };
}

function expectSize(cmd: Command, ok: boolean): void {
  if (!ok) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", `CURVE ${cmd.name} of ${cmd.data.length} bytes has the wrong size`);
}

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) throw new RangeError(`CURVE ${what} must be 32 bytes`);
}

/**
 * ZMTP CURVE client (RFC 26, CurveZMQ): HELLO → WELCOME → INITIATE(vouch, metadata) → READY,
 * then every frame travels in a MESSAGE box. The server proves it holds `serverKey`'s secret
 * by opening HELLO; we prove we hold `publicKey`'s by the vouch.
 *
 * @example
 * ```ts
 * const mech = new CurveClientMechanism({ serverKey, publicKey, secretKey });
 * const session = new Session({ socketType: "DEALER", mechanism: mech }, handler);
 * ```
 */
export class CurveClientMechanism implements Mechanism {
  readonly name = "CURVE" as const;
  readonly asServer = false;
  readonly #keys: CurveClientKeys;
  readonly #random: RandomSource;
  /** Crypto back end of the key agreements and MESSAGE boxes. */
  readonly #boxes: CurveBoxes;
  #state: "welcome" | "ready" | "done" = "welcome";
  #transient: CurveKeyPair | undefined;
  /** Box key of c' and S (HELLO, WELCOME). */
  #helloKey: Uint8Array | undefined;
  /** Box key of c' and S' (INITIATE, READY, MESSAGE). */
  #sessionKey: Uint8Array | undefined;
  #nonce = FIRST_NONCE;
  #codec: CurveCodec | undefined;

  constructor(keys: CurveClientKeys) {
    checkKey(keys.serverKey, "serverKey");
    checkKey(keys.publicKey, "publicKey");
    checkKey(keys.secretKey, "secretKey");
    this.#keys = keys;
    this.#random = keys.random ?? systemRandom;
    this.#boxes = keys.boxes ?? nobleBoxes;
  }

  get codec(): FrameCodec | undefined {
    return this.#codec;
  }

  /** The server's long-term public key, once it has proven to hold its secret. */
  get peerPublicKey(): Uint8Array | undefined {
    return this.#state === "done" ? this.#keys.serverKey : undefined;
  }

  start(ctx: MechanismContext): void {
    const t = transientKeyPair(this.#boxes, this.#random);
    this.#transient = t;
    this.#helloKey = this.#boxes.boxKey(t.secretKey, this.#keys.serverKey);
    const n = shortNonce(this.#nonce++);
    const box = seal(this.#helloKey, nonce("CurveZMQHELLO---", n), new Uint8Array(64));
    const version = new Uint8Array([1, 0]);
    // 72 zero bytes make HELLO larger than WELCOME: the server never amplifies.
    ctx.sendCommand(encodeCommand("HELLO", concatBytes([version, new Uint8Array(72), t.publicKey, n, box])));
  }

  command(ctx: MechanismContext, cmd: Command): boolean {
    if (cmd.name === "ERROR" || cmd.name === "^RROR") {
      throw new ZmtpError("ZMTP_AUTH_FAILED", `CURVE handshake refused by server: ${decodeErrorReason(cmd.data)}`);
    }
    const t = this.#transient as CurveKeyPair;
    if (this.#state === "welcome" && cmd.name === "WELCOME") {
      expectSize(cmd, cmd.data.length === WELCOME_SIZE);
      const d = cmd.data;
      const plain = open(this.#helloKey as Uint8Array, nonce("WELCOME-", d.subarray(0, 16)), d.subarray(16), "WELCOME");
      const serverTransient = plain.subarray(0, 32);
      const cookie = plain.slice(32, 32 + COOKIE_SIZE);
      this.#sessionKey = this.#boxes.boxKey(t.secretKey, serverTransient);
      const vouchNonce = this.#random(16);
      const vouch = seal(
        this.#boxes.boxKey(this.#keys.secretKey, serverTransient),
        nonce("VOUCH---", vouchNonce),
        concatBytes([t.publicKey, this.#keys.serverKey]),
      );
      const n = shortNonce(this.#nonce++);
      const box = seal(
        this.#sessionKey,
        nonce("CurveZMQINITIATE", n),
        concatBytes([this.#keys.publicKey, vouchNonce, vouch, ctx.localMetadata]),
      );
      ctx.sendCommand(encodeCommand("INITIATE", concatBytes([cookie, n, box])));
      this.#state = "ready";
      return false;
    }
    if (this.#state === "ready" && cmd.name === "READY") {
      expectSize(cmd, cmd.data.length >= READY_MIN);
      const d = cmd.data;
      const n = d.subarray(0, 8);
      const plain = open(this.#sessionKey as Uint8Array, nonce("CurveZMQREADY---", n), d.subarray(8), "READY");
      ctx.acceptPeerMetadata(plain);
      this.#codec = new CurveCodec(this.#sessionKey as Uint8Array, "C", this.#nonce, n, this.#boxes);
      this.#state = "done";
      // The transient secret and the hello key are no longer needed: forget them.
      t.secretKey.fill(0);
      this.#helloKey?.fill(0);
      return true;
    }
    throw new ZmtpError("ZMTP_UNEXPECTED_COMMAND", `unexpected ${cmd.name} during CURVE handshake`);
  }
}

/**
 * ZMTP CURVE server (RFC 26, CurveZMQ). HELLO is answered with WELCOME carrying a cookie
 * boxed under a key made for this connection alone and wiped once INITIATE has shown it
 * back; INITIATE's vouch proves the client holds its long-term key, which the application
 * then authorizes (`MechanismContext.requestAuthorization`). A refusal sends ERROR "400", as
 * libzmq's ZAP does; any other failure (bad box, bad size, wrong key) closes without a word,
 * as libzmq does, so a prober learns nothing.
 *
 * @example
 * ```ts
 * const mech = new CurveServerMechanism({ publicKey, secretKey });
 * ```
 */
export class CurveServerMechanism implements Mechanism {
  readonly name = "CURVE" as const;
  readonly asServer = true;
  readonly #keys: CurveServerKeys;
  readonly #random: RandomSource;
  /** Crypto back end of the key agreements and MESSAGE boxes. */
  readonly #boxes: CurveBoxes;
  #state: "hello" | "initiate" | "auth" | "done" = "hello";
  #clientTransient: Uint8Array | undefined;
  #transient: CurveKeyPair | undefined;
  #cookieKey: Uint8Array | undefined;
  #sessionKey: Uint8Array | undefined;
  #peerNonce: Uint8Array | undefined;
  #nonce = FIRST_NONCE;
  #codec: CurveCodec | undefined;
  #clientKey: Uint8Array | undefined;

  constructor(keys: CurveServerKeys) {
    checkKey(keys.publicKey, "publicKey");
    checkKey(keys.secretKey, "secretKey");
    this.#keys = keys;
    this.#random = keys.random ?? systemRandom;
    this.#boxes = keys.boxes ?? nobleBoxes;
  }

  get codec(): FrameCodec | undefined {
    return this.#codec;
  }

  /** The client's long-term public key, once its vouch has been verified (before authorization). */
  get peerPublicKey(): Uint8Array | undefined {
    return this.#clientKey;
  }

  start(): void {
    // The client speaks first.
  }

  command(ctx: MechanismContext, cmd: Command): boolean {
    if (this.#state === "hello" && cmd.name === "HELLO") {
      this.#hello(ctx, cmd);
      return false;
    }
    if (this.#state === "initiate" && cmd.name === "INITIATE") {
      this.#initiate(ctx, cmd);
      return false;
    }
    throw new ZmtpError("ZMTP_UNEXPECTED_COMMAND", `unexpected ${cmd.name} during CURVE handshake`);
  }

  #hello(ctx: MechanismContext, cmd: Command): void {
    const d = cmd.data;
    expectSize(cmd, d.length === HELLO_SIZE);
    if (d[0] !== 1 || d[1] !== 0) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "CURVE HELLO of an unknown version");
    const clientTransient = d.slice(74, 106);
    const helloKey = this.#boxes.boxKey(this.#keys.secretKey, clientTransient);
    open(helloKey, nonce("CurveZMQHELLO---", d.subarray(106, 114)), d.subarray(114), "HELLO");
    this.#clientTransient = clientTransient;
    const t = transientKeyPair(this.#boxes, this.#random);
    this.#transient = t;
    // A cookie key of this connection's own: a cookie can never be replayed elsewhere.
    this.#cookieKey = this.#random(32);
    const cookieNonce = this.#random(16);
    const cookie = concatBytes([
      cookieNonce,
      seal(this.#cookieKey, nonce("COOKIE--", cookieNonce), concatBytes([clientTransient, t.secretKey])),
    ]);
    const welcomeNonce = this.#random(16);
    const box = seal(helloKey, nonce("WELCOME-", welcomeNonce), concatBytes([t.publicKey, cookie]));
    helloKey.fill(0);
    ctx.sendCommand(encodeCommand("WELCOME", concatBytes([welcomeNonce, box])));
    this.#state = "initiate";
  }

  #initiate(ctx: MechanismContext, cmd: Command): void {
    const d = cmd.data;
    expectSize(cmd, d.length >= INITIATE_MIN);
    const cookieKey = this.#cookieKey as Uint8Array;
    const cookie = open(cookieKey, nonce("COOKIE--", d.subarray(0, 16)), d.subarray(16, COOKIE_SIZE), "cookie");
    // The cookie key is used once: wipe it so the cookie can never open again.
    cookieKey.fill(0);
    const t = this.#transient as CurveKeyPair;
    if (!sameBytes(cookie.subarray(0, 32), this.#clientTransient as Uint8Array) || !sameBytes(cookie.subarray(32, 64), t.secretKey)) {
      throw new ZmtpError("ZMTP_CURVE_BOX", "CURVE INITIATE carries a cookie of another connection");
    }
    const n = d.subarray(COOKIE_SIZE, COOKIE_SIZE + 8);
    const sessionKey = this.#boxes.boxKey(t.secretKey, this.#clientTransient as Uint8Array);
    const plain = open(sessionKey, nonce("CurveZMQINITIATE", n), d.subarray(COOKIE_SIZE + 8), "INITIATE");
    if (plain.length < 128) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "CURVE INITIATE box too short");
    const clientKey = plain.slice(0, 32);
    const vouch = open(this.#boxes.boxKey(t.secretKey, clientKey), nonce("VOUCH---", plain.subarray(32, 48)), plain.subarray(48, 128), "vouch");
    if (!sameBytes(vouch.subarray(0, 32), this.#clientTransient as Uint8Array) || !sameBytes(vouch.subarray(32, 64), this.#keys.publicKey)) {
      throw new ZmtpError("ZMTP_CURVE_BOX", "CURVE vouch does not match this connection");
    }
    ctx.acceptPeerMetadata(plain.subarray(128));
    this.#sessionKey = sessionKey;
    this.#peerNonce = n.slice();
    this.#clientKey = clientKey;
    t.secretKey.fill(0);
    this.#state = "auth";
    ctx.requestAuthorization(clientKey);
  }

  authenticated(ctx: MechanismContext, ok: boolean): boolean {
    if (this.#state !== "auth") return false;
    if (!ok) throw new ZmtpError("ZMTP_AUTH_FAILED", "CURVE client key not authorized");
    const key = this.#sessionKey as Uint8Array;
    const n = shortNonce(this.#nonce++);
    ctx.sendCommand(encodeCommand("READY", concatBytes([n, seal(key, nonce("CurveZMQREADY---", n), ctx.localMetadata)])));
    this.#codec = new CurveCodec(key, "S", this.#nonce, this.#peerNonce as Uint8Array, this.#boxes);
    this.#state = "done";
    return true;
  }
}

/**
 * A CURVE key as raw bytes: 32 bytes are taken as they are, a 40-character string is
 * decoded as Z85.
 *
 * @throws RangeError for any other length; Z85Error for text that is not Z85.
 * @example
 * ```ts
 * const serverKey = curveKey("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "serverKey");
 * ```
 */
export function curveKey(key: CurveKey, what = "key"): Uint8Array {
  if (typeof key === "string") {
    if (key.length !== 40) throw new RangeError(`CURVE ${what} must be 40 Z85 characters, not ${key.length}`);
    return decodeZ85(key);
  }
  checkKey(key, what);
  return key;
}
