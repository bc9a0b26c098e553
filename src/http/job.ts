import { decodeValue } from "../rpc/wire/codec.ts";

/** Bodies larger than this are not decoded for /api/events (`json: null`), so a big message costs the broker nothing. */
export const JOB_DECODE_MAX_BYTES = 64 * 1024;
const MAX_DEPTH = 16;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The body of a stream message as JSON for a `job` event: its first frame parsed as UTF-8
 * JSON, else as one msgpack value (`forge.events` bodies), binary fields replaced by
 * `{ bytes: n }`; null when neither decodes or the frame is above {@link JOB_DECODE_MAX_BYTES}.
 *
 * @example
 * ```ts
 * jobBody(new TextEncoder().encode('{"kind":"started"}')); // { kind: "started" }
 * ```
 */
export function jobBody(frame: Uint8Array | undefined): unknown {
  if (frame === undefined || frame.byteLength === 0 || frame.byteLength > JOB_DECODE_MAX_BYTES) return null;
  try {
    return JSON.parse(utf8.decode(frame));
  } catch { /* not JSON: try msgpack */ }
  try {
    return plain(decodeValue(frame), 0);
  } catch {
    return null;
  }
}

/** JSON-safe copy: bytes become their size, bigints numbers, too deep becomes null. */
function plain(value: unknown, depth: number): unknown {
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  if (typeof value === "bigint") return Number(value);
  if (value === null || typeof value !== "object") return typeof value === "function" || value === undefined ? null : value;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.map((v) => plain(v, depth + 1));
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v, depth + 1)]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, depth + 1);
  return out;
}
