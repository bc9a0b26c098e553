import { ForgeCode, ForgeError, throwIfAborted } from "../../errors.ts";

/**
 * Lets the event loop run (socket I/O, heartbeats, cancel messages) between chunks of CPU
 * work, then throws if the call was cancelled meanwhile. Demo backends run on the worker's
 * own thread, so they must not hold it for long.
 */
export async function breathe(signal: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  throwIfAborted(signal);
}

/** Throws `RPC_VALIDATION` with `message` unless `ok`. */
export function check(ok: boolean, message: string, details?: Record<string, unknown>): asserts ok {
  if (!ok) throw new ForgeError(ForgeCode.InvalidArgument, message, details ? { details } : undefined);
}

/**
 * Splits text the way the demo counts tokens: words and single punctuation marks. Real
 * tokenizers (BPE) give different counts; the demo says so in its docs.
 */
export function roughTokens(text: string): RegExpMatchArray[] {
  return [...text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)];
}
