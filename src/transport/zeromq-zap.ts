import { Router } from "zeromq";
import type { PlainAuthenticator } from "./types.ts";

/**
 * libzmq asks a ZAP handler (RFC 27) bound at `inproc://zeromq.zap.01` in the same context
 * to check PLAIN credentials; without one, it refuses every PLAIN client. One handler
 * serves every PLAIN router of the process; each router registers under its own ZAP domain.
 */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
const domains = new Map<string, PlainAuthenticator>();
let handler: { socket: Router; loop: Promise<void> } | undefined;
let nextDomain = 0;
const instance = Math.floor(Math.random() * 0x100000000).toString(16);

/** Register an authenticator; returns its ZAP domain and a function that unregisters it. */
export async function registerZap(authenticate: PlainAuthenticator): Promise<{ domain: string; release: () => Promise<void> }> {
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
      // [requester, "", version, request id, domain, address, identity, mechanism, username, password]
      const [requester, empty, version, requestId, domain, address, , mechanism, user, pass] = frames;
      if (!requester || !empty || !version || !requestId) continue;
      const auth = domains.get(text.decode(domain));
      let ok = false;
      if (auth && text.decode(mechanism) === "PLAIN") {
        try {
          ok = (await auth(text.decode(user), text.decode(pass), { address: text.decode(address) })) === true;
        } catch {
          ok = false;
        }
      }
      if (socket.closed) return;
      await socket.send([requester, empty, version, requestId, ok ? "200" : "400", ok ? "OK" : "Invalid credentials", ok ? text.decode(user) : "", ""]);
    }
  } catch {
    // The socket was closed: nothing left to answer.
  }
}
