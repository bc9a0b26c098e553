/**
 * The first system error code (`ENOENT`, `EADDRINUSE`, `ENOTFOUND`, `ECONNREFUSED`...) found in
 * an error or the chain of its causes, so a message or hint can follow from what actually went wrong.
 *
 * @example
 * ```ts
 * systemCode(new Error("cannot bind", { cause: Object.assign(new Error("x"), { code: "EADDRINUSE" }) })); // "EADDRINUSE"
 * ```
 */
export function systemCode(error: unknown): string | undefined {
  let current: unknown = error;
  // Bounded: a cause chain that loops must not hang the CLI.
  for (let depth = 0; depth < 16 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * An error's message with its system code appended when the message does not name it (Bun's
 * and Deno's socket errors say "Failed to connect" and keep `ECONNREFUSED` in `code`).
 *
 * @example
 * ```ts
 * describeError(Object.assign(new Error("Failed to connect"), { code: "ECONNREFUSED" })); // "Failed to connect (ECONNREFUSED)"
 * ```
 */
export function describeError(error: Error): string {
  const code = systemCode(error);
  return code === undefined || error.message.includes(code) ? error.message : `${error.message} (${code})`;
}
