import { ZmtpError } from "./errors.ts";

/** A decoded command frame: its name and the bytes after the name. */
export interface Command {
  name: string;
  data: Uint8Array;
}

/**
 * Split a command frame body (`name-len(1) name data`). The name must be 1-255 ASCII
 * letters... except that libzmq's PLAIN ERROR arrives as `^RROR` (a C escape bug), so any
 * printable ASCII is accepted and mechanisms decide what is valid.
 *
 * @example
 * ```ts
 * const { name, data } = decodeCommand(body); // name === "PING"
 * ```
 */
export function decodeCommand(body: Uint8Array): Command {
  const len = body[0];
  if (len === 0x5e && body[1] === 0x52 && body[2] === 0x52 && body[3] === 0x4f && body[4] === 0x52 && body.length < 0x5f) {
    // libzmq 4.3's PLAIN ERROR: the C literal "\x05ERROR" compiles to 0x5E "RROR", so the
    // length byte is 0x5E and the name runs past the frame. It is an ERROR all the same.
    return { name: "ERROR", data: body.subarray(5) };
  }
  if (len === undefined || len === 0) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "command with empty name");
  if (1 + len > body.length) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "command name is truncated");
  let name = "";
  for (let i = 1; i <= len; i++) {
    const c = body[i] as number;
    if (c < 0x21 || c > 0x7e) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "command name is not printable ASCII");
    name += String.fromCharCode(c);
  }
  return { name, data: body.subarray(1 + len) };
}

/**
 * Build a command frame body from a name and its data.
 *
 * @example
 * ```ts
 * const body = encodeCommand("READY", metadataBytes);
 * ```
 */
export function encodeCommand(name: string, data?: Uint8Array): Uint8Array {
  const body = new Uint8Array(1 + name.length + (data?.length ?? 0));
  body[0] = name.length;
  for (let i = 0; i < name.length; i++) body[1 + i] = name.charCodeAt(i);
  if (data) body.set(data, 1 + name.length);
  return body;
}

/**
 * PING body: TTL in deciseconds (always present: libzmq reads it without a length check)
 * then up to 16 bytes of context.
 *
 * @example
 * ```ts
 * const ping = encodePing(5000); // TTL 5 s
 * ```
 */
export function encodePing(ttlMs: number, context?: Uint8Array): Uint8Array {
  const ds = Math.min(0xffff, Math.max(0, Math.round(ttlMs / 100)));
  const ctx = context ? context.subarray(0, 16) : undefined;
  const data = new Uint8Array(2 + (ctx?.length ?? 0));
  data[0] = ds >> 8;
  data[1] = ds & 255;
  if (ctx) data.set(ctx, 2);
  return encodeCommand("PING", data);
}

/**
 * Parse PING data into TTL (ms) and context; a PING shorter than its TTL field is malformed.
 *
 * @example
 * ```ts
 * decodePing(new Uint8Array([0, 50])); // { ttlMs: 5000, context: Uint8Array(0) }
 * ```
 */
export function decodePing(data: Uint8Array): { ttlMs: number; context: Uint8Array } {
  if (data.length < 2) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "PING without its 2-byte TTL");
  if (data.length > 2 + 16) throw new ZmtpError("ZMTP_MALFORMED_COMMAND", "PING context longer than 16 bytes");
  return { ttlMs: (((data[0] as number) << 8) | (data[1] as number)) * 100, context: data.subarray(2) };
}

/**
 * PONG body echoing (at most 16 bytes of) a PING's context.
 *
 * @example
 * ```ts
 * const pong = encodePong(decodePing(pingData).context);
 * ```
 */
export function encodePong(context: Uint8Array): Uint8Array {
  return encodeCommand("PONG", context.subarray(0, 16));
}

/**
 * ERROR body: a reason of at most 255 bytes. Only valid during the handshake.
 *
 * @example
 * ```ts
 * const body = encodeError("invalid credentials");
 * ```
 */
export function encodeError(reason: string): Uint8Array {
  const r = new TextEncoder().encode(reason).subarray(0, 255);
  const data = new Uint8Array(1 + r.length);
  data[0] = r.length;
  data.set(r, 1);
  return encodeCommand("ERROR", data);
}

/**
 * Read the reason of an ERROR command, tolerating a missing or overlong length byte.
 *
 * @example
 * ```ts
 * decodeErrorReason(new Uint8Array([3, 0x34, 0x30, 0x30])); // "400"
 * ```
 */
export function decodeErrorReason(data: Uint8Array): string {
  const len = Math.min(data[0] ?? 0, data.length - 1);
  return new TextDecoder().decode(data.subarray(1, 1 + Math.max(0, len)));
}
