import { ZmtpError } from "./errors.ts";

/** Connection metadata: property name → raw value, in wire order. */
export type Metadata = Map<string, Uint8Array>;

const encoder = new TextEncoder();

/**
 * Encode metadata properties (`name-len(1) name value-len(4, BE) value` each). Names are
 * written exactly as given: libzmq compares `Socket-Type` and `Identity` case-sensitively.
 *
 * @example
 * ```ts
 * const bytes = encodeMetadata([["Socket-Type", new TextEncoder().encode("DEALER")]]);
 * ```
 */
export function encodeMetadata(props: Iterable<readonly [string, Uint8Array]>): Uint8Array {
  const parts: Array<[Uint8Array, Uint8Array]> = [];
  let size = 0;
  for (const [name, value] of props) {
    const n = encoder.encode(name);
    if (n.length < 1 || n.length > 255) throw new RangeError(`metadata name "${name}" must be 1-255 bytes`);
    parts.push([n, value]);
    size += 1 + n.length + 4 + value.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const [n, value] of parts) {
    out[off++] = n.length;
    out.set(n, off);
    off += n.length;
    view.setUint32(off, value.length);
    off += 4;
    out.set(value, off);
    off += value.length;
  }
  return out;
}

/**
 * Decode metadata properties. Names are returned lower-cased (RFC 37 says they are
 * case-insensitive); a truncated property or trailing garbage throws ZMTP_MALFORMED_METADATA.
 *
 * @example
 * ```ts
 * const props = decodeMetadata(bytes);
 * const type = props.get("socket-type");
 * ```
 */
export function decodeMetadata(bytes: Uint8Array): Metadata {
  const props: Metadata = new Map();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  while (off < bytes.length) {
    const nameLen = bytes[off] as number;
    if (nameLen === 0) throw malformed("empty property name");
    if (off + 1 + nameLen + 4 > bytes.length) throw malformed("truncated property");
    let name = "";
    for (let i = 0; i < nameLen; i++) {
      const c = bytes[off + 1 + i] as number;
      if (c < 0x21 || c > 0x7e) throw malformed("property name is not printable ASCII");
      name += String.fromCharCode(c);
    }
    off += 1 + nameLen;
    const valueLen = view.getUint32(off);
    off += 4;
    if (valueLen > bytes.length - off) throw malformed(`property "${name}" value is truncated`);
    props.set(name.toLowerCase(), bytes.subarray(off, off + valueLen));
    off += valueLen;
  }
  return props;
}

function malformed(why: string): ZmtpError {
  return new ZmtpError("ZMTP_MALFORMED_METADATA", `malformed metadata: ${why}`);
}
