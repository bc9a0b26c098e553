// What the handshake learns about the peer: its READY/INITIATE metadata, checked against our
// socket type, and the PeerInfo a session reports once it is ready. Runs once per connection.
import { ZmtpError } from "./errors.ts";
import { decodeMetadata, type Metadata } from "./metadata.ts";
import type { PeerInfo } from "./session-types.ts";
import { type SocketType, socketTypesCompatible } from "./socket-type.ts";

/**
 * Decodes the peer's metadata and refuses a socket type we cannot talk to
 * (`ZMTP_BAD_SOCKET_TYPE`) or an Identity longer than 255 bytes (`ZMTP_MALFORMED_METADATA`).
 *
 * @example
 * ```ts
 * const meta = checkPeerMetadata("DEALER", encodeMetadata([["Socket-Type", utf8.encode("ROUTER")]]));
 * ```
 */
export function checkPeerMetadata(ours: SocketType, bytes: Uint8Array): Metadata {
  const meta = decodeMetadata(bytes);
  const type = meta.get("socket-type");
  if (type !== undefined) {
    const name = decodeText(type) ?? "";
    if (!socketTypesCompatible(ours, name)) {
      throw new ZmtpError("ZMTP_BAD_SOCKET_TYPE", `a ${ours} cannot talk to a ${name} peer`);
    }
  }
  const identity = meta.get("identity");
  if (identity !== undefined && identity.length > 255) {
    throw new ZmtpError("ZMTP_MALFORMED_METADATA", "Identity longer than 255 bytes");
  }
  return meta;
}

/**
 * The PeerInfo of a peer whose metadata (if it sent any) was accepted by {@link checkPeerMetadata}.
 *
 * @example
 * ```ts
 * const peer = peerInfo(meta, 1); // ZMTP 3.1
 * ```
 */
export function peerInfo(meta: Metadata | undefined, minor: number): PeerInfo {
  return {
    socketType: decodeText(meta?.get("socket-type")),
    identity: meta?.get("identity") ?? new Uint8Array(0),
    metadata: meta ?? new Map(),
    minor,
  };
}

function decodeText(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
