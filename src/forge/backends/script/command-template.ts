import { ForgeCode, ForgeError } from "../../errors.ts";

/**
 * One argument of a command template: a string with `{placeholders}`, or a group of strings
 * that is left out as a whole when a placeholder in it has no value (for optional flags such
 * as `["--seed", "{seed}"]`).
 *
 * @example
 * ```ts
 * const args: CommandArg[] = ["qwen3vl_inference.exs", "--image", "{images[0]:file}", "--prompt", "{prompt}", ["--system", "{system}"]];
 * ```
 */
export type CommandArg = string | readonly string[];

/** A parsed `{…}`: an input path with a modifier, or an output file. */
type Slot =
  | { kind: "value" | "file" | "json"; path: Array<string | number>; source: string }
  | { kind: "out"; name: string; ext: string; source: string };

type Part = string | Slot;

/**
 * A parsed command template. Placeholders:
 * - `{a.b[0].c}`: the input value at that path, as one argument (strings as is, numbers and
 *   booleans printed; anything else is an error: use `:json`);
 * - `{path:json}`: the value as JSON;
 * - `{path:file}`: the bytes at `path` (a `Uint8Array`, or an object with `data` bytes and a
 *   `mimeType`, which picks the extension) written to a temporary file, replaced by its path;
 * - `{out:EXT}` / `{out.NAME:EXT}`: the path of a temporary file `out.EXT` / `NAME.EXT` that the
 *   script is expected to write, read back as bytes under the name `out` / `NAME`;
 * - `{{` and `}}`: literal braces.
 * There is no shell: each template argument becomes exactly one argument, spaces and quotes included.
 *
 * @example
 * ```ts
 * const t = new CommandTemplate(["tts.exs", "--text", "{text}", "--out", "{out.audio:wav}"]);
 * t.fill({ text: "hi there" }, "/tmp/x").argv; // ["tts.exs", "--text", "hi there", "--out", "/tmp/x/audio.wav"]
 * ```
 */
export class CommandTemplate {
  readonly #args: Array<{ parts: Part[]; group: boolean } | Array<{ parts: Part[]; group: boolean }>>;

  constructor(args: readonly CommandArg[]) {
    this.#args = args.map((arg) =>
      typeof arg === "string" ? { parts: parseArg(arg), group: false } : arg.map((a) => ({ parts: parseArg(a), group: true }))
    );
  }

  /** Names of the output files the template declares (`out` for `{out:EXT}`). */
  get outputs(): string[] {
    const names = new Set<string>();
    for (const arg of this.#args.flat()) for (const p of arg.parts) if (typeof p !== "string" && p.kind === "out") names.add(p.name);
    return [...names];
  }

  /**
   * Fills the template from `input`, naming temporary files inside `dir`. Performs no I/O: the
   * caller writes `inputs` before running `argv` and reads `outputs` after. A missing value
   * outside a group, a value of the wrong type, or an output name used with two extensions
   * throws `RPC_VALIDATION`.
   */
  fill(input: unknown, dir: string): FilledCommand {
    const inputs: Array<{ path: string; bytes: Uint8Array }> = [];
    const inputPaths = new Map<string, string>();
    const outputs = new Map<string, string>();
    const render = (parts: Part[]): string | undefined => {
      let out = "";
      for (const part of parts) {
        if (typeof part === "string") {
          out += part;
          continue;
        }
        if (part.kind === "out") {
          const path = `${dir}/${part.name}.${part.ext}`;
          const known = outputs.get(part.name);
          if (known !== undefined && known !== path) throw invalid(`output ${part.name} is used with two extensions`, part.source);
          outputs.set(part.name, path);
          out += path;
          continue;
        }
        const value = lookup(input, part.path);
        if (value === undefined || value === null) return undefined;
        if (part.kind === "file") {
          let path = inputPaths.get(part.source);
          if (path === undefined) {
            const { bytes, ext } = fileOf(value, part.source);
            path = `${dir}/input-${inputs.length}.${ext}`;
            inputs.push({ path, bytes });
            inputPaths.set(part.source, path);
          }
          out += path;
        } else if (part.kind === "json") {
          if (containsBytes(value)) throw invalid("binary data cannot be passed as JSON: use :file", part.source);
          out += JSON.stringify(value);
        } else {
          if (typeof value === "string") out += value;
          else if (typeof value === "number" || typeof value === "boolean") out += String(value);
          else throw invalid(`the value is ${value instanceof Uint8Array ? "binary (use :file)" : "not a string, number or boolean (use :json)"}`, part.source);
        }
      }
      return out;
    };
    const argv: string[] = [];
    for (const arg of this.#args) {
      if (Array.isArray(arg)) {
        const group = arg.map((a) => render(a.parts));
        if (group.every((a): a is string => a !== undefined)) argv.push(...group);
      } else {
        const single = arg as { parts: Part[] };
        const value = render(single.parts);
        if (value === undefined) throw invalid("the input has no value there", sourceOf(single.parts));
        argv.push(value);
      }
    }
    return { argv, inputs, outputs };
  }
}

/**
 * What {@link CommandTemplate.fill} produces: the arguments, the input files to write first,
 * and the output files (name → path) to read afterwards.
 *
 * @example
 * ```ts
 * const { argv, inputs, outputs } = template.fill(input, dir);
 * ```
 */
export interface FilledCommand {
  argv: string[];
  inputs: Array<{ path: string; bytes: Uint8Array }>;
  outputs: Map<string, string>;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

function parseArg(arg: string): Part[] {
  const parts: Part[] = [];
  let text = "";
  let i = 0;
  while (i < arg.length) {
    const c = arg[i]!;
    if ((c === "{" || c === "}") && arg[i + 1] === c) {
      text += c;
      i += 2;
      continue;
    }
    if (c === "}") throw config(`unmatched "}" in ${JSON.stringify(arg)} (write "}}" for a brace)`);
    if (c !== "{") {
      text += c;
      i++;
      continue;
    }
    const end = arg.indexOf("}", i);
    if (end < 0) throw config(`unmatched "{" in ${JSON.stringify(arg)} (write "{{" for a brace)`);
    if (text) parts.push(text);
    text = "";
    parts.push(parseSlot(arg.slice(i + 1, end)));
    i = end + 1;
  }
  if (text || parts.length === 0) parts.push(text);
  return parts;
}

function parseSlot(source: string): Slot {
  const colon = source.indexOf(":");
  const pathText = colon < 0 ? source : source.slice(0, colon);
  const modifier = colon < 0 ? "" : source.slice(colon + 1);
  const path = parsePath(pathText, source);
  if (path[0] === "out") {
    if (path.length > 2 || (path.length === 2 && typeof path[1] !== "string") || !/^[A-Za-z0-9]{1,16}$/.test(modifier)) {
      throw config(`output placeholder {${source}} must be {out:EXT} or {out.NAME:EXT}`);
    }
    return { kind: "out", name: path.length === 2 ? (path[1] as string) : "out", ext: modifier, source };
  }
  if (modifier === "") return { kind: "value", path, source };
  if (modifier === "file" || modifier === "json") return { kind: modifier, path, source };
  throw config(`unknown modifier "${modifier}" in {${source}} (use :file or :json)`);
}

function parsePath(text: string, source: string): Array<string | number> {
  const path: Array<string | number> = [];
  let rest = text;
  const first = IDENT.exec(rest);
  if (!first) throw config(`bad placeholder {${source}}`);
  path.push(first[0]);
  rest = rest.slice(first[0].length);
  while (rest) {
    const index = /^\[(\d{1,9})\]/.exec(rest);
    const field = /^\.([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    const m = index ?? field;
    if (!m) throw config(`bad placeholder {${source}}`);
    path.push(index ? Number(m[1]) : m[1]!);
    rest = rest.slice(m[0].length);
  }
  return path;
}

function lookup(value: unknown, path: Array<string | number>): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== "object" || v instanceof Uint8Array) return undefined;
    if (typeof key === "number" ? !Array.isArray(v) : Array.isArray(v)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

const EXTENSIONS: Record<string, string> = {
  "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif", "image/bmp": "bmp",
  "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov", "audio/wav": "wav", "audio/mpeg": "mp3",
  "audio/flac": "flac", "audio/ogg": "ogg",
};

function fileOf(value: unknown, source: string): { bytes: Uint8Array; ext: string } {
  if (value instanceof Uint8Array) return { bytes: value, ext: "bin" };
  if (typeof value === "object" && value !== null && (value as { data?: unknown }).data instanceof Uint8Array) {
    const { data, mimeType } = value as { data: Uint8Array; mimeType?: unknown };
    return { bytes: data, ext: (typeof mimeType === "string" && EXTENSIONS[mimeType.toLowerCase()]) || "bin" };
  }
  throw invalid("the value is not binary data (bytes, or {data, mimeType})", source);
}

function containsBytes(value: unknown): boolean {
  if (value instanceof Uint8Array) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(containsBytes);
}

function sourceOf(parts: Part[]): string {
  const slot = parts.find((p): p is Slot => typeof p !== "string");
  return slot?.source ?? "";
}

function config(message: string): ForgeError {
  return new ForgeError(ForgeCode.InvalidArgument, `command template: ${message}`);
}

function invalid(message: string, source: string): ForgeError {
  return new ForgeError(ForgeCode.InvalidArgument, `command input for {${source}}: ${message}`, { details: { placeholder: source } });
}
