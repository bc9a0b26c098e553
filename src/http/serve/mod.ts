import type { FetchHandler, FetchServer } from "./types.ts";

/**
 * Serve `fetch` on `hostname:port` with the running runtime's server: `Bun.serve`,
 * `Deno.serve`, or Node's http through `@hono/node-server`. Only the adapter in use is loaded.
 *
 * @example
 * ```ts
 * const server = await serveFetch(app.fetch, "127.0.0.1", 8222);
 * await server.close();
 * ```
 */
export async function serveFetch(fetch: FetchHandler, hostname: string, port: number): Promise<FetchServer> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return (await import("./bun.ts")).serveBun(fetch, hostname, port);
  if (g.Deno !== undefined) return (await import("./deno.ts")).serveDeno(fetch, hostname, port);
  return (await import("./node.ts")).serveNode(fetch, hostname, port);
}
