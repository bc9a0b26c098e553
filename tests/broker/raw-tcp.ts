// A raw TCP peer of the broker for hostile tests: completes the ZMTP handshake as a DEALER,
// then writes whatever bytes the test wants (whole MLM messages, partial frames, nothing).
import { connect, type Socket } from "node:net";
import { encode } from "../../src/proto/mod.ts";
import type { MlmMessage } from "../../src/proto/mod.ts";
import { encodeCommand, encodeGreeting, encodeMetadata } from "../../src/zmtp/mod.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One ZMTP frame with a short (1-byte) or long (8-byte) size, `more` and `command` flags. */
export function zmtpFrame(body: Uint8Array, more = false, command = false): Uint8Array {
  const long = body.length > 255;
  const head = long ? 9 : 2;
  const out = new Uint8Array(head + body.length);
  out[0] = (more ? 1 : 0) | (long ? 2 : 0) | (command ? 4 : 0);
  if (long) new DataView(out.buffer).setBigUint64(1, BigInt(body.length));
  else out[1] = body.length;
  out.set(body, head);
  return out;
}

/** The bytes of a whole MLM message as a DEALER sends it (no routing-id frame). */
export function mlmBytes(message: MlmMessage): Uint8Array {
  const frames = encode(message);
  const parts = frames.map((f, i) => zmtpFrame(f, i < frames.length - 1));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class RawTcp {
  readonly socket: Socket;
  closed = false;
  received = 0;
  readonly whenClosed: Promise<void>;

  /** Connect and send the greeting and READY at once (the broker's greeting is not awaited). */
  constructor(endpoint: string) {
    const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint) as RegExpExecArray;
    this.socket = connect({ host: m[1] as string, port: Number(m[2]) });
    this.socket.on("data", (d: Uint8Array) => (this.received += d.length));
    this.socket.on("error", () => {});
    this.whenClosed = new Promise((resolve) => this.socket.on("close", () => {
      this.closed = true;
      resolve();
    }));
    this.socket.write(encodeGreeting("NULL", false));
    this.socket.write(zmtpFrame(encodeCommand("READY", encodeMetadata([["Socket-Type", enc("DEALER")]])), false, true));
  }

  send(message: MlmMessage): void {
    this.socket.write(mlmBytes(message));
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
