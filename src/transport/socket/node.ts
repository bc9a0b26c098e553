// node:net behind the transport's socket interface; on Node it reads through the read hooks of
// node-reads.ts into buffers the connection supplies.
import { connect as netConnect, createServer } from "node:net";
import type { SocketApi, StreamListener } from "./types.ts";
import { adoptAccepted, ReadInto, USER_READ_BUFFERS } from "./node-reads.ts";

/**
 * `node:net` behind the transport's socket interface (every runtime). On Node, sockets read
 * into buffers the connection supplies (see `ReadInto`).
 *
 * @example
 * ```ts
 * const router = zmtp.router({ socketApi: "node" });
 * ```
 */
export const nodeSockets: SocketApi = {
  name: "node",
  listen(host, port, onAccept, onError): Promise<StreamListener> {
    return new Promise<StreamListener>((resolve, reject) => {
      const server = createServer({ pauseOnConnect: USER_READ_BUFFERS }, (accepted) => {
        const hooks = new ReadInto();
        const { socket, direct } = adoptAccepted(accepted, hooks);
        onAccept(socket, direct ? hooks : undefined);
      });
      const onListenError = (err: Error) => {
        server.close();
        reject(err);
      };
      server.once("error", onListenError);
      server.listen({ host, port }, () => {
        server.off("error", onListenError);
        server.on("error", onError);
        const addr = server.address();
        resolve({
          port: typeof addr === "object" && addr ? addr.port : port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      });
    });
  },
  connect(host, port) {
    const reads = USER_READ_BUFFERS ? new ReadInto() : undefined;
    const socket = netConnect({ host, port, ...(reads ? { onread: reads } : {}) });
    return { socket, reads };
  },
};
