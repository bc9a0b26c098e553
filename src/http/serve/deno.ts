import type { FetchHandler, FetchServer } from "./types.ts";

interface DenoServer {
  readonly addr: { port: number };
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}
interface DenoRuntime {
  serve(options: {
    hostname: string; port: number; signal?: AbortSignal; onListen?: () => void; onError?: (error: unknown) => Response;
  }, handler: FetchHandler): DenoServer;
}

/**
 * Serve `fetch` with `Deno.serve`.
 *
 * @example
 * ```ts
 * const server = await serveDeno((req) => new Response("ok"), "127.0.0.1", 0);
 * await server.close();
 * ```
 */
export function serveDeno(fetch: FetchHandler, hostname: string, port: number): Promise<FetchServer> {
  const deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;
  const server = deno.serve({ hostname, port, onListen: () => {} }, fetch);
  return Promise.resolve({ port: server.addr.port, close: () => server.shutdown() });
}
