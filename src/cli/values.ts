import { join } from "node:path";
import { readArgFile } from "./content.ts";
import { CliError, ExitCode } from "./errors.ts";
import { hexPreview } from "./format.ts";
import type { CliIo } from "./io.ts";

/**
 * Parse a `call` input argument: JSON text, `@file` holding JSON, or `-` for JSON on stdin.
 * Inside the JSON, `{"$file": "path"}` becomes that file's bytes and `{"$base64": "..."}`
 * the decoded bytes, since JSON has no binary type and RPC inputs often carry images.
 *
 * @example
 * ```ts
 * const input = await parseCallInput('{"image": {"$file": "cat.png"}}', io);
 * ```
 */
export async function parseCallInput(arg: string | undefined, io: CliIo): Promise<unknown> {
  if (arg === undefined) return {};
  let text: string;
  let source: string;
  if (arg === "-") {
    text = new TextDecoder().decode(await io.readStdin());
    source = "standard input";
  } else if (arg.startsWith("@") && !arg.startsWith("@@")) {
    text = new TextDecoder().decode(await readArgFile(arg.slice(1), io));
    source = arg.slice(1);
  } else {
    text = arg.startsWith("@@") ? arg.slice(1) : arg;
    source = "the input argument";
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError("CLI_USAGE", `${source} is not JSON: ${(error as Error).message}`, {
      hint: `quote it for the shell, e.g. '{"text": "hi"}'`,
      exitCode: ExitCode.usage,
    });
  }
  const unsafe = unsafeIntegerLiteral(text);
  if (unsafe !== undefined) {
    throw new CliError("CLI_USAGE", `${source} has the integer ${unsafe}, beyond ±(2^53 - 1): JSON numbers become doubles, so it would arrive changed`, {
      hint: "send it as a string, or as a number within ±9007199254740991",
      exitCode: ExitCode.usage,
    });
  }
  return await reviveBytes(value, io);
}

/**
 * The first integer literal (no fraction, no exponent) of JSON `text` that a JavaScript number
 * cannot hold exactly, e.g. `9223372036854775809`, which JSON.parse silently rounds.
 */
export function unsafeIntegerLiteral(text: string): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39)) continue;
    const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null) continue;
    const literal = match[0];
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(Number(literal))) return literal;
    i += literal.length - 1;
  }
  return undefined;
}

async function reviveBytes(value: unknown, io: CliIo): Promise<unknown> {
  if (Array.isArray(value)) return Promise.all(value.map((item) => reviveBytes(item, io)));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, inner] = entries[0] as [string, unknown];
    if (key === "$file" && typeof inner === "string") return readArgFile(inner, io);
    if (key === "$base64" && typeof inner === "string") return base64Bytes(inner);
  }
  const out: Record<string, unknown> = {};
  for (const [key, inner] of entries) out[key] = await reviveBytes(inner, io);
  return out;
}

function base64Bytes(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/\s]*={0,2}$/.test(text)) {
    throw new CliError("CLI_USAGE", "a $base64 value is not base64", { exitCode: ExitCode.usage });
  }
  const binary = atob(text.replace(/\s/g, ""));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** A binary value pulled out of a result, to be written to `path`. */
export interface BinaryFile {
  path: string;
  bytes: Uint8Array;
}

/**
 * Replace every `Uint8Array` in a decoded result by `{"$file": path, "size": n}` and list the
 * files to write, when `dir` is given: paths are `<dir>/<base>.<field path>.bin`, with unsafe
 * characters replaced. Without `dir`, by `{"size": n, "hex": first bytes}` (as `recv` shows
 * frames) and nothing is written.
 *
 * @example
 * ```ts
 * const { json, files } = extractBinary({ png: bytes, w: 2 }, "out", "render");
 * // json = { png: { $file: "out/render.png.bin", size: 1234 }, w: 2 }
 * extractBinary({ png: bytes }, undefined, "render").json; // { png: { size: 1234, hex: "89504e47…" } }
 * ```
 */
export function extractBinary(value: unknown, dir: string | undefined, base: string): { json: unknown; files: BinaryFile[] } {
  const files: BinaryFile[] = [];
  const walk = (node: unknown, path: string[]): unknown => {
    if (node instanceof Uint8Array) {
      if (dir === undefined) return { size: node.byteLength, hex: hexPreview(node) };
      const name = [base, ...path].map((part) => part.replace(/[^\w.-]/g, "_")).join(".") + ".bin";
      const file = join(dir, name);
      files.push({ path: file, bytes: node });
      return { $file: file, size: node.byteLength };
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, String(index)]));
    if (node instanceof Map) return walk(Object.fromEntries(node), path);
    if (typeof node === "object" && node !== null && !(node instanceof Date)) {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(node)) out[key] = walk(inner, [...path, key]);
      return out;
    }
    if (typeof node === "bigint") return node.toString();
    return node;
  };
  return { json: walk(value, []), files };
}
