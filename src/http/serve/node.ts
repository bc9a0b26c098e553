import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { FetchHandler, FetchServer } from "./types.ts";

/**
 * Serve `fetch` with Node's http module through `@hono/node-server`.
 *
 * @example
 * ```ts
 * const server = await serveNode((req) => new Response("ok"), "127.0.0.1", 0);
 * await server.close();
 * ```
 */
export function serveNode(fetch: FetchHandler, hostname: string, port: number): Promise<FetchServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, (info: AddressInfo) => {
      server.off("error", reject);
      resolve({
        port: info.port,
        close: () => new Promise<void>((done) => {
          server.close(() => done());
          // Keep-alive connections would hold close() open.
          if ("closeAllConnections" in server) server.closeAllConnections();
        }),
      });
    });
    server.once("error", reject);
  });
}
