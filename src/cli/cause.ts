/**
 * The first system error code (`ENOENT`, `EADDRINUSE`, `ENOTFOUND`, `ECONNREFUSED`...) found in
 * an error or the chain of its causes, so a hint can follow from what actually went wrong.
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

/** System codes of a host name that does not resolve. */
export const DNS_CODES: ReadonlySet<string> = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_NONAME", "EAI_FAIL"]);
