import type { SocketApiChoice } from "./socket/types.ts";
import { TcpDealer } from "./tcp/dealer.ts";
import { TcpRouter } from "./tcp/router.ts";
import type { Transport } from "./types.ts";

/**
 * The pure-TypeScript ZMTP 3.1 transport over TCP: `node:net` on Node; on Bun and Deno the
 * runtime's own sockets by default (option `socketApi`, see {@link zmtpWith}). Interoperates
 * with libzmq 4.x DEALER/ROUTER sockets, NULL, PLAIN and CURVE mechanisms.
 *
 * DEALER `send` throws TransportError `SEND_QUEUE_FULL` when no peer can take a message and
 * `sendHighWaterMark` (default 1000) messages already wait.
 *
 * @example
 * ```ts
 * import { zmtp } from "malamute";
 * const router = zmtp.router();
 * const endpoint = await router.bind("tcp://127.0.0.1:0");
 * router.on("message", (id, frames) => router.send(id, frames)); // echo
 * const dealer = zmtp.dealer();
 * dealer.connect(endpoint);
 * dealer.on("message", (frames) => console.log(new TextDecoder().decode(frames[0])));
 * dealer.send([new TextEncoder().encode("hello")]);
 * ```
 */
export const zmtp: Transport = {
  name: "zmtp",
  router: (options) => new TcpRouter(options ?? {}),
  dealer: (options) => new TcpDealer(options ?? {}),
};

/**
 * The `zmtp` transport with `socketApi` preset on every socket it makes (an explicit
 * `socketApi` in the options still wins), for code that takes a Transport, such as
 * `MlmClient.connect` or `startBroker`.
 *
 * @throws TransportError `BAD_OPTION` when a socket is made with `native` on Node.
 *
 * @example
 * ```ts
 * const client = await MlmClient.connect("tcp://127.0.0.1:9999", { transport: zmtpWith("native") });
 * ```
 */
export function zmtpWith(socketApi: SocketApiChoice): Transport {
  return {
    name: "zmtp",
    router: (options) => new TcpRouter({ socketApi, ...options }),
    dealer: (options) => new TcpDealer({ socketApi, ...options }),
  };
}
