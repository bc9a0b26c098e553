// Picks the socket API for the `socketApi` option: node:net or the runtime's own sockets.
import { TransportError } from "../errors.ts";
import { bunSockets } from "./bun.ts";
import { denoSockets } from "./deno.ts";
import { nodeSockets } from "./node.ts";
import type { SocketApi, SocketApiChoice } from "./types.ts";

const g = globalThis as { Bun?: unknown; Deno?: unknown };

/** This runtime's own socket API, or undefined on Node (which has only node:net). */
export const NATIVE_SOCKETS: SocketApi | undefined = g.Bun !== undefined ? bunSockets : g.Deno !== undefined ? denoSockets : undefined;

/**
 * Whether `auto` picks the native API on this runtime: set from same-run A/B measurements of
 * the broker bench (`BENCH_SOCKETS=node,native`, broker only, clients on node:net; 2026-12-06,
 * 2 runs of 5 alternating rounds each). Per-round native/node round-trip rates, medians of the
 * two runs: Bun 1.20/1.42 for 4 workers × 64 in flight at 10 B, ~1.0 sequential, with 10-20%
 * less broker CPU per message; Deno 1.77/1.17 pipelined 10 B, 1.51/1.58 sequential 64 KiB.
 */
const AUTO_NATIVE: Record<"bun" | "deno", boolean> = { bun: true, deno: true };

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
