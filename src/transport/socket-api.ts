import { TransportError } from "./errors.ts";
import { bunSockets } from "./socket-bun.ts";
import { denoSockets } from "./socket-deno.ts";
import { nodeSockets } from "./socket-node.ts";
import type { SocketApi, SocketApiChoice } from "./stream-socket.ts";

const g = globalThis as { Bun?: unknown; Deno?: unknown };

/** This runtime's own socket API, or undefined on Node (which has only node:net). */
export const NATIVE_SOCKETS: SocketApi | undefined = g.Bun !== undefined ? bunSockets : g.Deno !== undefined ? denoSockets : undefined;

/**
 * Whether `auto` picks the native API on this runtime: set from same-run A/B measurements of
 * the broker bench (`BENCH_SOCKETS=node,native`, see docs/broker.md).
 */
const AUTO_NATIVE: Record<"bun" | "deno", boolean> = { bun: false, deno: false };

/**
 * The socket API for a `socketApi` option (default `auto`).
 *
 * @throws TransportError `BAD_OPTION` for `native` on Node, which has no socket API of its own.
 *
 * @example
 * ```ts
 * socketApiFor("auto").name; // "node" on Node; on Bun and Deno whichever measured faster
 * ```
 */
export function socketApiFor(choice: SocketApiChoice = "auto"): SocketApi {
  if (choice === "node") return nodeSockets;
  const native = NATIVE_SOCKETS;
  if (choice === "native") {
    if (native === undefined) {
      throw new TransportError("BAD_OPTION", "socketApi \"native\" needs Bun or Deno; Node has only node:net");
    }
    return native;
  }
  if (choice !== "auto") throw new TransportError("BAD_OPTION", `socketApi must be "node", "native" or "auto", not ${String(choice)}`);
  return native !== undefined && AUTO_NATIVE[native.name as "bun" | "deno"] ? native : nodeSockets;
}
