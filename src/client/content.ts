import { compilePattern } from "../proto/pattern/mod.ts";
import { MlmError } from "./errors.ts";
import type { ContentInput } from "./types.ts";

const utf8 = new TextEncoder();

/**
 * Turn application content into frames. Strings are encoded as UTF-8; Uint8Arrays are
 * placed in the frame list as they are (the caller must not mutate them until sent).
 */
export function toFrames(content: ContentInput): Uint8Array[] {
  if (typeof content === "string") return [utf8.encode(content)];
  if (content instanceof Uint8Array) return [content];
  if (!Array.isArray(content)) throw badArgument("content must be a string, a Uint8Array or an array of them");
  const frames = new Array<Uint8Array>(content.length);
  for (let i = 0; i < content.length; i++) {
    const part: unknown = content[i];
    if (typeof part === "string") frames[i] = utf8.encode(part);
    else if (part instanceof Uint8Array) frames[i] = part;
    else throw badArgument(`content[${i}] must be a string or a Uint8Array`);
  }
  return frames;
}

/** The MlmError for invalid input; nothing has been sent. */
export function badArgument(message: string): MlmError {
  return new MlmError("MLM_BAD_ARGUMENT", message);
}

/**
 * The error for a pattern the broker could never match as meant (`((`): refused before it is
 * sent, since a C broker accepts it silently and the subscription would just never deliver.
 */
export function invalidPattern(what: string, pattern: string): MlmError | undefined {
  if (typeof pattern !== "string") return undefined; // the codec reports a non-string
  const compiled = compilePattern(pattern);
  return compiled.valid ? undefined : badArgument(`${what}: invalid pattern ${JSON.stringify(pattern)}: ${compiled.error}`);
}
