// The ZAP handler (RFC 27) through which libzmq asks our routers to check PLAIN and CURVE peers.
import { Router } from "zeromq";
import { encodeZ85 } from "../../zmtp/z85.ts";
import type { CurveAuthorizer, PlainAuthenticator } from "../types.ts";

/**
 * libzmq asks a ZAP handler (RFC 27) bound at `inproc://zeromq.zap.01` in the same context
 * to check PLAIN credentials (without one, it refuses every PLAIN client) and CURVE client
 * keys (without one, it accepts every CURVE client). One handler serves every router of the
 * process; each router registers under its own ZAP domain.
 */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** What a router checks: PLAIN credentials or CURVE client keys. */
export type ZapCheck = { plain: PlainAuthenticator } | { curve: CurveAuthorizer };

const domains = new Map<string, ZapCheck>();
let handler: { socket: Router; loop: Promise<void> } | undefined;
let nextDomain = 0;
const instance = Math.floor(Math.random() * 0x100000000).toString(16);

/** Register an authenticator; returns its ZAP domain and a function that unregisters it. */
export async function registerZap(authenticate: ZapCheck): Promise<{ domain: string; release: () => Promise<void> }> {
  const domain = `malamute-${instance}-${nextDomain++}`;
  domains.set(domain, authenticate);
  if (!handler) {
    const socket = new Router({ linger: 0 });
    await socket.bind(ZAP_ENDPOINT);
    handler = { socket, loop: serve(socket) };
  }
  return {
    domain,
    release: async () => {
      domains.delete(domain);
      if (domains.size === 0 && handler) {
        const h = handler;
        handler = undefined;
        h.socket.close();
        await h.loop;
      }
    },
  };
}

async function serve(socket: Router): Promise<void> {
  const text = new TextDecoder();
  try {
    for await (const frames of socket) {
      // PLAIN: [requester, "", version, request id, domain, address, identity, "PLAIN", username, password]
      // CURVE: [requester, "", version, request id, domain, address, identity, "CURVE", client public key]
      const [requester, empty, version, requestId, domain, address, , mechanism, user, pass] = frames;
      if (!requester || !empty || !version || !requestId) continue;
      const check = domains.get(text.decode(domain));
      const kind = text.decode(mechanism);
      let ok = false;
      let userId = "";
      try {
        if (check && "plain" in check && kind === "PLAIN") {
          userId = text.decode(user);
          ok = (await check.plain(userId, text.decode(pass), { address: text.decode(address) })) === true;
        } else if (check && "curve" in check && kind === "CURVE" && user && user.length === 32) {
          userId = encodeZ85(user);
          ok = (await check.curve(new Uint8Array(user), { address: text.decode(address) })) === true;
        }
      } catch {
        ok = false;
      }
      if (socket.closed) return;
      await socket.send([requester, empty, version, requestId, ok ? "200" : "400", ok ? "OK" : "Invalid credentials", ok ? userId : "", ""]);
    }
  } catch {
    // The socket was closed: nothing left to answer.
  }
}
