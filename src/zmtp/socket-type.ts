/** ZMTP socket types (RFC 37 §The Socket-Type Property). */
export type SocketType =
  | "REQ" | "REP" | "DEALER" | "ROUTER" | "PUB" | "XPUB" | "SUB" | "XSUB" | "PUSH" | "PULL" | "PAIR"
  | "CLIENT" | "SERVER" | "RADIO" | "DISH" | "SCATTER" | "GATHER" | "PEER" | "CHANNEL";

const COMPATIBLE: Record<SocketType, readonly string[]> = {
  REQ: ["REP", "ROUTER"],
  REP: ["REQ", "DEALER"],
  DEALER: ["REP", "DEALER", "ROUTER"],
  ROUTER: ["REQ", "DEALER", "ROUTER"],
  PUB: ["SUB", "XSUB"],
  XPUB: ["SUB", "XSUB"],
  SUB: ["PUB", "XPUB"],
  XSUB: ["PUB", "XPUB"],
  PUSH: ["PULL"],
  PULL: ["PUSH"],
  PAIR: ["PAIR"],
  CLIENT: ["SERVER"],
  SERVER: ["CLIENT"],
  RADIO: ["DISH"],
  DISH: ["RADIO"],
  SCATTER: ["GATHER"],
  GATHER: ["SCATTER"],
  PEER: ["PEER"],
  CHANNEL: ["CHANNEL"],
};

/**
 * Whether a socket of type `local` may talk to a peer announcing `peer` (exact, upper-case
 * comparison, as libzmq does).
 *
 * @example
 * ```ts
 * socketTypesCompatible("DEALER", "ROUTER"); // true
 * socketTypesCompatible("ROUTER", "PUB");    // false
 * ```
 */
export function socketTypesCompatible(local: SocketType, peer: string): boolean {
  return COMPATIBLE[local].includes(peer);
}
