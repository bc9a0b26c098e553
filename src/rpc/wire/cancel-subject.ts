/**
 * Subjects on the cancel stream (`malamute.rpc.cancel`): `<service>/<callId>`, so that a worker
 * subscribes to the cancels of its own service only (pattern `^<service>/`) and workers of
 * other services never hear them.
 *
 * @example
 * ```ts
 * cancelSubject("qwen3vl", "k3x9q2.1");           // "qwen3vl/k3x9q2.1"
 * cancelPattern("a.b");                           // "^a\\.b/"
 * callIdOfCancel("qwen3vl", "qwen3vl/k3x9q2.1"); // "k3x9q2.1"
 * ```
 */
export function cancelSubject(service: string, callId: string): string {
  return `${service}/${callId}`;
}

/** The zrex pattern (docs/patterns.md) that selects the cancels of `service`. */
export function cancelPattern(service: string): string {
  return `^${escapePattern(service)}/`;
}

/** The call id a cancel subject names for `service`, or "" when it is not one of its cancels. */
export function callIdOfCancel(service: string, subject: string): string {
  return subject.length > service.length + 1 && subject.startsWith(service) && subject.charCodeAt(service.length) === 0x2f
    ? subject.slice(service.length + 1)
    : "";
}

/**
 * `text` as a zrex pattern that matches it literally: every metacharacter gets a backslash
 * (`\` before any byte other than a class or control letter stands for that byte).
 */
export function escapePattern(text: string): string {
  return text.replace(/[.^$()|*+?[\]\\]/g, "\\$&");
}
