/** Sans-I/O session test helpers (not a test file itself). */
import {
  type Mechanism, NullMechanism, type PeerInfo, Session, type SessionOptions, type SocketType, type ZmtpError,
} from "../../src/zmtp/mod.ts";
import { concatBytes } from "../../src/util/bytes.ts";

/** A session with a recording handler. */
export class Probe {
  readonly session: Session;
  ready: PeerInfo | undefined;
  messages: Uint8Array[][] = [];
  closed: ZmtpError | undefined;
  auth: Array<[string, string]> = [];

  constructor(options: Partial<SessionOptions> & { mechanism: Mechanism; socketType?: SocketType }) {
    this.session = new Session({ socketType: "DEALER", ...options }, {
      onReady: (peer) => (this.ready = peer),
      onMessage: (frames) => this.messages.push(frames),
      onAuthenticate: (u, p) => this.auth.push([u, p]),
      onClose: (err) => (this.closed = err),
    });
  }

  out(): Uint8Array {
    return concatBytes(this.session.takeOutput());
  }
}

/** Exchange output between two probes until quiet. */
export function pump(a: Probe, b: Probe, now = 0): void {
  for (let i = 0; i < 20; i++) {
    const x = a.out();
    const y = b.out();
    if (x.length === 0 && y.length === 0) return;
    if (x.length) b.session.feed(x, now);
    if (y.length) a.session.feed(y, now);
  }
}

/** A DEALER (client) and ROUTER (server) pair with NULL security, both started at time 0. */
export function nullPair(client: Partial<SessionOptions> = {}, server: Partial<SessionOptions> = {}): [Probe, Probe] {
  const a = new Probe({ mechanism: new NullMechanism(), socketType: "DEALER", ...client });
  const b = new Probe({ mechanism: new NullMechanism(), socketType: "ROUTER", ...server });
  a.session.start(0);
  b.session.start(0);
  return [a, b];
}


/** Only the 9-byte header of a long data frame declaring `size` bytes. */
export function longHeader(size: number, flags = 0): Uint8Array {
  const h = new Uint8Array(9);
  h[0] = flags | 2;
  new DataView(h.buffer).setBigUint64(1, BigInt(size));
  return h;
}
