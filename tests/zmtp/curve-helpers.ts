/** CURVE session test helpers (not a test file itself). */
import {
  CurveClientMechanism, curveKeyPair, CurveServerMechanism, type PeerInfo, Session, type SessionOptions, type ZmtpError,
} from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";

export const server = curveKeyPair();
export const client = curveKeyPair();

/** A session with a recording handler whose CURVE authorizer answers synchronously with `allow` (null: later). */
export class CurveProbe {
  readonly session: Session;
  ready: PeerInfo | undefined;
  messages: Uint8Array[][] = [];
  closed: ZmtpError | undefined;
  asked: Uint8Array[] = [];

  constructor(options: SessionOptions, allow: boolean | null = true) {
    this.session = new Session(options, {
      onReady: (peer) => (this.ready = peer),
      onMessage: (frames) => this.messages.push(frames.map((f) => f.slice())),
      onAuthorize: (key) => {
        this.asked.push(key);
        if (allow !== null) this.session.authenticated(allow, 0);
      },
      onClose: (err) => (this.closed = err),
    });
  }

  out(): Uint8Array {
    return concatBytes(this.session.takeOutput());
  }
}

/** A CURVE DEALER (client) and ROUTER (server), both started at time 0. */
export function curvePair(
  opts: { serverKey?: Uint8Array; allow?: boolean | null; client?: Partial<SessionOptions>; server?: Partial<SessionOptions> } = {},
): [CurveProbe, CurveProbe] {
  const a = new CurveProbe({
    socketType: "DEALER",
    mechanism: new CurveClientMechanism({ serverKey: opts.serverKey ?? server.publicKey, ...client }),
    ...opts.client,
  });
  const b = new CurveProbe({
    socketType: "ROUTER",
    mechanism: new CurveServerMechanism(server),
    ...opts.server,
  }, opts.allow ?? (opts.allow === null ? null : true));
  a.session.start(0);
  b.session.start(0);
  return [a, b];
}

/** Exchange the greetings only: the next output of each side is its first command. */
export function greet(a: CurveProbe, b: CurveProbe): void {
  const x = a.out();
  const y = b.out();
  b.session.feed(x, 0);
  a.session.feed(y, 0);
}

/** Exchange output until quiet. */
export function pump(a: CurveProbe, b: CurveProbe): void {
  for (let i = 0; i < 20; i++) {
    const x = a.out();
    const y = b.out();
    if (x.length === 0 && y.length === 0) return;
    if (x.length) b.session.feed(x, 0);
    if (y.length) a.session.feed(y, 0);
  }
}

/** Split a byte stream into ZMTP frames after the 64-byte greeting: [flags, body, whole]. */
export function framesOf(stream: Uint8Array): Array<{ flags: number; body: Uint8Array; whole: Uint8Array }> {
  const out = [];
  let off = 0;
  while (off < stream.length) {
    const flags = stream[off] as number;
    const long = (flags & 2) !== 0;
    const size = long ? Number(new DataView(stream.buffer, stream.byteOffset + off + 1, 8).getBigUint64(0)) : stream[off + 1] as number;
    const hl = long ? 9 : 2;
    out.push({ flags, body: stream.subarray(off + hl, off + hl + size), whole: stream.subarray(off, off + hl + size) });
    off += hl + size;
  }
  return out;
}
