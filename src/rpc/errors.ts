import { MalamuteError } from "../errors.ts";

/**
 * Stable error codes of the RPC layer. They travel on the wire as strings inside error
 * replies, so workers in other languages use exactly these values.
 *
 * @example
 * ```ts
 * import { RpcErrorCode } from "malamute";
 * if (err.code === RpcErrorCode.DEADLINE_EXCEEDED) console.log("too slow");
 * ```
 */
export const RpcErrorCode = {
  /** Input, output, progress or chunk did not match its schema. */
  VALIDATION: "RPC_VALIDATION",
  /** The call's deadline passed (in the broker queue, on the worker, or while waiting for the reply). */
  DEADLINE_EXCEEDED: "RPC_DEADLINE_EXCEEDED",
  /** The caller aborted the call. */
  CANCELLED: "RPC_CANCELLED",
  /** The worker's contract has no method with that name. */
  UNKNOWN_METHOD: "RPC_UNKNOWN_METHOD",
  /** An encoded payload is larger than the configured maximum. */
  PAYLOAD_TOO_LARGE: "RPC_PAYLOAD_TOO_LARGE",
  /** A handler failed without choosing a code, or the worker broke an invariant. */
  INTERNAL: "RPC_INTERNAL",
  /** An envelope (its header, payload or binary frames) could not be decoded. */
  BAD_ENVELOPE: "RPC_BAD_ENVELOPE",
  /** The broker could not route the call, or the connection is closed. */
  UNAVAILABLE: "RPC_UNAVAILABLE",
  /** The broker dropped the call because a queue limit was reached. */
  RESOURCE_EXHAUSTED: "RPC_RESOURCE_EXHAUSTED",
} as const;

/**
 * One of the {@link RpcErrorCode} values (remote handlers may also use codes of their own).
 *
 * @example
 * ```ts
 * const retryable: RpcErrorCodeValue[] = ["RPC_DEADLINE_EXCEEDED", "RPC_UNAVAILABLE"];
 * ```
 */
export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/**
 * One schema violation: where (JSON pointer into the value) and what.
 *
 * @example
 * ```ts
 * for (const { path, message } of err.issues) console.log(`${path}: ${message}`);
 * ```
 */
export interface RpcValidationIssue {
  /** JSON pointer into the checked value, `""` for the root, e.g. `"/images/0"`. */
  path: string;
  message: string;
}

/**
 * The base class of every RPC error. `code` is stable; `cause` keeps the underlying error.
 *
 * @example
 * ```ts
 * import { RpcError } from "malamute";
 * try { await client.qwen3vl.infer(input); }
 * catch (err) { if (err instanceof RpcError) console.log(err.code, err.message); }
 * ```
 */
export class RpcError extends MalamuteError {
  /** Extra structured data (msgpack-safe), e.g. validation issues. */
  readonly details: unknown;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(code, message, options);
    this.details = options?.details;
  }
}

/**
 * A value broke its schema. `path` is the JSON pointer of the first issue; `issues` lists them all.
 * Thrown locally by the client before sending (input) and by `ctx.progress` on a worker.
 *
 * @example
 * ```ts
 * try { await client.qwen3vl.infer({ prompt: 42 } as never); }
 * catch (err) { if (err instanceof RpcValidationError) console.log(err.path); } // "/prompt"
 * ```
 */
export class RpcValidationError extends RpcError {
  readonly path: string;
  readonly issues: RpcValidationIssue[];
  /** Which value was checked: `"input"`, `"output"`, `"progress"` or `"chunk"`. */
  readonly role: string;

  constructor(role: string, issues: RpcValidationIssue[], context?: string) {
    const first = issues[0] ?? { path: "", message: "invalid value" };
    const where = first.path === "" ? "(root)" : first.path;
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : "";
    super(RpcErrorCode.VALIDATION, `${context ? `${context}: ` : ""}invalid ${role} at ${where}: ${first.message}${more}`, {
      details: { role, issues },
    });
    this.path = first.path;
    this.issues = issues;
    this.role = role;
  }
}

/**
 * The worker (or a handler) reported an error. `code` is the remote code, e.g.
 * `RPC_INTERNAL`, `RPC_VALIDATION`, or an application code chosen with {@link RpcHandlerError}.
 *
 * @example
 * ```ts
 * try { await client.qwen3vl.infer(input); }
 * catch (err) { if (err instanceof RpcRemoteError && err.code === "MODEL_BUSY") retry(); }
 * ```
 */
export class RpcRemoteError extends RpcError {
  /** The service and method that failed. */
  readonly service: string;
  readonly method: string;

  constructor(service: string, method: string, body: RpcErrorBody) {
    super(body.code, `${service}.${method}: ${body.message}`, { details: body.details });
    this.service = service;
    this.method = method;
  }
}

/**
 * The call's deadline passed before a reply arrived.
 *
 * @example
 * ```ts
 * await client.svc.slow(input, { timeout: 100 }).catch((e) => e instanceof RpcDeadlineError);
 * ```
 */
export class RpcDeadlineError extends RpcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(RpcErrorCode.DEADLINE_EXCEEDED, message, options);
  }
}

/**
 * The caller's AbortSignal fired. `cause` holds the signal's reason.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * const p = client.svc.slow(input, { signal: ac.signal });
 * ac.abort();
 * await p.catch((e) => e instanceof RpcCancelledError); // true
 * ```
 */
export class RpcCancelledError extends RpcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(RpcErrorCode.CANCELLED, message, options);
  }
}

/**
 * An encoded payload exceeded `maxPayload`. `details` has `{ size, limit }`.
 *
 * @example
 * ```ts
 * const client = await connect(endpoint, { svc }, { maxPayload: 1024 });
 * await client.svc.echo({ data: new Uint8Array(4096) }).catch((e) => e instanceof RpcPayloadTooLargeError);
 * ```
 */
export class RpcPayloadTooLargeError extends RpcError {
  constructor(what: string, size: number, limit: number) {
    super(RpcErrorCode.PAYLOAD_TOO_LARGE, `${what} is ${size} bytes, over the limit of ${limit} bytes`, {
      details: { size, limit },
    });
  }
}

/**
 * A peer sent frames that are not a valid RPC envelope.
 *
 * @example
 * ```ts
 * try { decodeHeader(frame); } catch (e) { if (e instanceof RpcProtocolError) console.log(e.message); }
 * ```
 */
export class RpcProtocolError extends RpcError {
  constructor(message: string, options?: { cause?: unknown; details?: unknown }) {
    super(RpcErrorCode.BAD_ENVELOPE, message, options);
  }
}

/**
 * A well-formed version 2 header of a kind this peer does not know, e.g. one a later
 * version adds. New kinds are informative only (docs/rpc-wire.md §3.2), so a caller ignores
 * the message; where only one kind is valid (a worker's call connection) it is still a bad envelope.
 *
 * @example
 * ```ts
 * try { decodeHeader(frame); } catch (e) { if (e instanceof RpcUnknownKindError) console.log("ignored", e.kind); }
 * ```
 */
export class RpcUnknownKindError extends RpcProtocolError {
  /** The `kind` of the header. */
  readonly kind: string;

  constructor(kind: string) {
    super(`unknown envelope kind ${JSON.stringify(kind)}`);
    this.kind = kind;
  }
}

/**
 * The call could not be delivered or answered: no route, a broker limit, or the client closed.
 * `code` is `RPC_UNAVAILABLE` or `RPC_RESOURCE_EXHAUSTED`.
 *
 * @example
 * ```ts
 * await client.close();
 * await client.svc.echo(input).catch((e) => e instanceof RpcUnavailableError); // true
 * ```
 */
export class RpcUnavailableError extends RpcError {}

/**
 * Thrown by a handler to send the caller a chosen `code` and `details` (msgpack-safe).
 * Any other thrown value reaches the caller as `RPC_INTERNAL` with its message.
 *
 * @example
 * ```ts
 * serve(endpoint, qwen3vl, {
 *   infer: async () => { throw new RpcHandlerError("MODEL_BUSY", "GPU busy", { retryAfterMs: 500 }); },
 * });
 * ```
 */
export class RpcHandlerError extends RpcError {
  constructor(code: string, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(code, message, { ...options, details });
  }
}

/**
 * The fields of an error reply on the wire.
 *
 * @example
 * ```ts
 * const body: RpcErrorBody = { code: "MODEL_BUSY", message: "GPU busy", details: { retryAfterMs: 500 } };
 * ```
 */
export interface RpcErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/**
 * Turns anything a handler threw into an error reply, keeping RPC codes and details.
 *
 * @example
 * ```ts
 * errorBody(new Error("boom")); // { code: "RPC_INTERNAL", message: "boom" }
 * ```
 */
export function errorBody(error: unknown): RpcErrorBody {
  if (error instanceof RpcError) {
    // The caller's RpcRemoteError names the service and method, so the worker's own label
    // (the context of a validation error) would print it twice.
    const message = error instanceof RpcValidationError ? new RpcValidationError(error.role, error.issues).message : error.message;
    const body: RpcErrorBody = { code: error.code, message };
    if (error.details !== undefined) body.details = error.details;
    return body;
  }
  if (error instanceof Error) return { code: RpcErrorCode.INTERNAL, message: error.message || error.name };
  return { code: RpcErrorCode.INTERNAL, message: String(error) };
}
