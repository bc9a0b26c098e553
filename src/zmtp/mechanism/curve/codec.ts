// The CURVE frame codec: after the handshake every frame travels boxed in a MESSAGE command.
import { BOX_OVERHEAD, type CurveBoxes, type MessageBoxes, nobleBoxes } from "./box.ts";
import { ZmtpError } from "../../errors.ts";
import { FLAG_COMMAND, FLAG_MORE } from "../../frame.ts";
import type { FrameCodec } from "../types.ts";

/** `\x07MESSAGE`: the command name that carries every frame after a CURVE handshake. */
const MESSAGE_NAME = [7, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45] as const;
/** Name (8), short nonce (8), tag (16), flags byte (1). */
const MESSAGE_OVERHEAD = 8 + 8 + BOX_OVERHEAD + 1;
/** Flags inside a MESSAGE box (libzmq's curve_mechanism_base): bit 0 MORE, bit 1 COMMAND. */
const BOX_MORE = 0x01;
const BOX_COMMAND = 0x02;

/**
 * CurveZMQ MESSAGE boxes for one connection: `\x07MESSAGE`, an 8-byte big-endian short
 * nonce, then Box[flags + body](C' ↔ S') under `CurveZMQMESSAGEC`/`CurveZMQMESSAGES` + nonce.
 * Each direction counts its own nonces: ours go up by one per command from where the
 * handshake left them; the peer's must strictly increase, so a replayed or reordered
 * MESSAGE is refused (`ZMTP_CURVE_NONCE`), as libzmq does.
 *
 * @example
 * ```ts
 * const codec = new CurveCodec(sessionKey, "C", 3, initiateNonce);
 * const out = new Uint8Array(codec.sealedSize(body.length));
 * codec.seal(0, body, out);
 * ```
 */
export class CurveCodec implements FrameCodec {
  readonly overhead = MESSAGE_OVERHEAD;
  /** The boxes of both directions under the session key. */
  readonly #boxes: MessageBoxes;
  /** Our next nonce (a double: 2^53 commands cannot be sent in any connection's lifetime). */
  #sendNonce: number;
  /** The peer's last nonce, as two 32-bit halves (it may send any 64-bit value). */
  #recvHi: number;
  #recvLo: number;
  /** The 8-byte nonce being written. */
  readonly #sendIv = new Uint8Array(8);

  /**
   * `side` is ours: "C" (client) or "S" (server). `nextNonce` is our next short nonce,
   * `peerNonce` the 8 bytes of the peer's last one (READY's or INITIATE's); `boxes` the crypto
   * back end (noble unless given).
   */
  constructor(key: Uint8Array, side: "C" | "S", nextNonce: number, peerNonce: Uint8Array, boxes: CurveBoxes = nobleBoxes) {
    this.#sendNonce = nextNonce;
    const view = new DataView(peerNonce.buffer, peerNonce.byteOffset, 8);
    this.#recvHi = view.getUint32(0);
    this.#recvLo = view.getUint32(4);
    const prefix = (s: string) => new TextEncoder().encode(`CurveZMQMESSAGE${s}`);
    this.#boxes = boxes.messageBoxes(key, prefix(side), prefix(side === "C" ? "S" : "C"));
  }

  sealedSize(size: number): number {
    return size + MESSAGE_OVERHEAD;
  }

  seal(flags: number, body: Uint8Array, out: Uint8Array): void {
    out[32] = ((flags & FLAG_MORE) !== 0 ? BOX_MORE : 0) | ((flags & FLAG_COMMAND) !== 0 ? BOX_COMMAND : 0);
    const n = body.length;
    if (n <= 32) {
      for (let i = 0; i < n; i++) out[33 + i] = body[i] as number;
    } else {
      out.set(body, 33);
    }
    const iv = this.#sendIv;
    const nonce = this.#sendNonce++;
    const hi = Math.floor(nonce / 0x100000000);
    const lo = nonce >>> 0;
    iv[0] = hi >>> 24;
    iv[1] = (hi >>> 16) & 255;
    iv[2] = (hi >>> 8) & 255;
    iv[3] = hi & 255;
    iv[4] = lo >>> 24;
    iv[5] = (lo >>> 16) & 255;
    iv[6] = (lo >>> 8) & 255;
    iv[7] = lo & 255;
    this.#boxes.seal(iv, out);
    for (let i = 0; i < 8; i++) out[i] = MESSAGE_NAME[i] as number;
    for (let i = 0; i < 8; i++) out[8 + i] = iv[i] as number;
  }

  open(body: Uint8Array): { flags: number; body: Uint8Array } {
    if (body.length < MESSAGE_OVERHEAD) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "CURVE MESSAGE too short");
    for (let i = 0; i < 8; i++) {
      if (body[i] !== MESSAGE_NAME[i]) {
        throw new ZmtpError("ZMTP_UNEXPECTED_COMMAND", "only MESSAGE commands may follow a CURVE handshake");
      }
    }
    const hi = (((body[8] as number) << 24) | ((body[9] as number) << 16) | ((body[10] as number) << 8) |
      (body[11] as number)) >>> 0;
    const lo = (((body[12] as number) << 24) | ((body[13] as number) << 16) | ((body[14] as number) << 8) |
      (body[15] as number)) >>> 0;
    if (hi < this.#recvHi || (hi === this.#recvHi && lo <= this.#recvLo)) {
      throw new ZmtpError("ZMTP_CURVE_NONCE", "CURVE MESSAGE nonce not above the last one (replayed or reordered)");
    }
    const plain = this.#boxes.open(body, 16, "MESSAGE");
    this.#recvHi = hi;
    this.#recvLo = lo;
    const f = plain[0] as number;
    return { flags: ((f & BOX_MORE) !== 0 ? FLAG_MORE : 0) | ((f & BOX_COMMAND) !== 0 ? FLAG_COMMAND : 0), body: plain.subarray(1) };
  }
}
