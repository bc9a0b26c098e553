import { ZeromqDealer } from "./zeromq/dealer.ts";
import { ZeromqRouter } from "./zeromq/router.ts";
import type { Transport } from "./types.ts";

/**
 * The libzmq transport, through the `zeromq` npm package. Supported on Node only: the native
 * addon does not load on Bun, and on Deno zeromq.js can leave a pending receive unwoken. Import it from the `malamute/zeromq` subpath so that other
 * runtimes never load the addon.
 *
 * Differences from the `zmtp` transport, all due to libzmq: a ROUTER message made of a
 * single empty frame is indistinguishable from a connect/disconnect notification and is not
 * delivered; `disconnectPeer` forgets a peer without closing its TCP connection; ROUTER
 * connect events carry no peer address; DEALER routing ids must be ASCII; DEALER `send`
 * throws TransportError `SEND_QUEUE_FULL` once `sendHighWaterMark` messages wait locally.
 *
 * @example
 * ```ts
 * import { zeromq } from "malamute/zeromq";
 * const router = zeromq.router();
 * const endpoint = await router.bind("tcp://127.0.0.1:0");
 * router.on("message", (id, frames) => router.send(id, frames));
 * ```
 */
export const zeromq: Transport = {
  name: "zeromq",
  router: (options) => new ZeromqRouter(options ?? {}),
  dealer: (options) => new ZeromqDealer(options ?? {}),
};
