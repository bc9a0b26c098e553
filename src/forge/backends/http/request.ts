import { ForgeCode, ForgeError, type ForgeCodeValue } from "../../errors.ts";
import { concat } from "../../bytes.ts";

/**
 * Options every HTTP adapter takes.
 *
 * @example
 * ```ts
 * const options: HttpBackendOptions = { baseUrl: "http://127.0.0.1:8000/v1", model: "m", apiKey: "sk-…", timeoutMs: 60_000 };
 * ```
 */
export interface HttpBackendOptions {
  /**
   * The API root including the version, as OpenAI clients take it, e.g.
   * `http://127.0.0.1:8000/v1` (vLLM, llama.cpp server), `http://127.0.0.1:11434/v1` (Ollama),
   * `http://127.0.0.1:8880/v1` (Kokoro-FastAPI).
   */
  baseUrl: string;
  /** Model name sent in every request, e.g. `Qwen/Qwen3-VL-8B-Instruct`. */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` when set. */
  apiKey?: string;
  /** Longest wait for one request, ms; the call's own deadline applies too. Default 300 000. */
  timeoutMs?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Largest accepted response body, bytes. Default 256 MiB. */
  maxResponseBytes?: number;
  /** The fetch to use (tests, proxies). Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/**
 * What a successful request returned.
 *
 * @example
 * ```ts
 * const { status, body } = await postJson(options, "/audio/speech", payload, { signal });
 * ```
 */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

const DEFAULT_TIMEOUT = 300_000;
const DEFAULT_MAX_RESPONSE = 256 * 1024 * 1024;

/**
 * POSTs JSON to `baseUrl + path` and returns the whole response body. Every failure becomes a
 * {@link ForgeError}: the caller's abort → `RPC_CANCELLED`, the deadline or `timeoutMs` →
 * `RPC_DEADLINE_EXCEEDED`, no connection → `RPC_UNAVAILABLE`, and HTTP errors by status
 * (see {@link httpStatusCode}) with the server's own message in `details.upstream`.
 *
 * @example
 * ```ts
 * const { body } = await postJson({ baseUrl: "http://127.0.0.1:8880/v1", model: "kokoro" }, "/audio/speech",
 *   { model: "kokoro", input: "Hi", voice: "af_heart" }, { signal });
 * ```
 */
export async function postJson(
  options: HttpBackendOptions,
  path: string,
  payload: unknown,
  ctx: { signal: AbortSignal; deadline?: number },
): Promise<HttpResult> {
  const url = joinUrl(options.baseUrl, path);
  const budget = Math.min(options.timeoutMs ?? DEFAULT_TIMEOUT, ctx.deadline === undefined ? Infinity : ctx.deadline - Date.now());
  if (ctx.signal.aborted) throw cancelled(ctx.signal, url);
  if (budget <= 0) throw new ForgeError(ForgeCode.DeadlineExceeded, `deadline passed before calling ${url}`, { details: { url } });

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, budget);
  const onAbort = () => controller.abort();
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const failure = (err: unknown): ForgeError => {
    if (err instanceof ForgeError) return err;
    if (timedOut) return new ForgeError(ForgeCode.DeadlineExceeded, `no complete answer from ${url} within ${Math.round(budget)} ms`, { cause: err, details: { url, timeoutMs: Math.round(budget) } });
    if (ctx.signal.aborted) return cancelled(ctx.signal, url);
    return new ForgeError(ForgeCode.Unavailable, `cannot reach ${url}: ${(err as Error)?.message ?? String(err)}`, { cause: err, details: { url } });
  };

  try {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "*/*", ...options.headers };
    if (options.apiKey) headers["authorization"] = `Bearer ${options.apiKey}`;
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, { method: "POST", headers, body: JSON.stringify(payload), signal: controller.signal });
    } catch (err) {
      throw failure(err);
    }
    let body: Uint8Array;
    try {
      body = await readBody(response, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE, url);
    } catch (err) {
      throw failure(err);
    }
    if (!response.ok) throw httpError(response, body, url);
    return { status: response.status, headers: response.headers, body };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener("abort", onAbort);
  }
}

/** Joins a base URL and a path with exactly one slash between them. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + "/" + path.replace(/^\/+/, "");
}

function cancelled(signal: AbortSignal, url: string): ForgeError {
  return new ForgeError(ForgeCode.Cancelled, `call to ${url} cancelled by the caller`, { cause: signal.reason, details: { url } });
}

async function readBody(response: Response, limit: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  const tooLarge = () => new ForgeError(ForgeCode.BadResponse, `response from ${url} is larger than ${limit} bytes`, { details: { url, limit } });
  if (declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  return concat(parts);
}

/**
 * The Forge code for an HTTP error status: 400/413/422 → `RPC_VALIDATION`, 401/403 →
 * `FORGE_UNAUTHENTICATED`, 404 → `FORGE_NOT_FOUND`, 408/504 → `RPC_DEADLINE_EXCEEDED`,
 * 429 → `RPC_RESOURCE_EXHAUSTED`, 501 → `FORGE_UNSUPPORTED`, other 5xx → `RPC_UNAVAILABLE`,
 * other 4xx → `RPC_VALIDATION`.
 *
 * @example
 * ```ts
 * import { httpStatusCode } from "malamute/forge";
 * httpStatusCode(429); // "RPC_RESOURCE_EXHAUSTED"
 * ```
 */
export function httpStatusCode(status: number): ForgeCodeValue {
  switch (status) {
    case 401: case 403: return ForgeCode.Unauthenticated;
    case 404: return ForgeCode.NotFound;
    case 408: case 504: return ForgeCode.DeadlineExceeded;
    case 429: return ForgeCode.ResourceExhausted;
    case 501: return ForgeCode.Unsupported;
  }
  return status >= 500 ? ForgeCode.Unavailable : ForgeCode.InvalidArgument;
}

function httpError(response: Response, body: Uint8Array, url: string): ForgeError {
  const text = new TextDecoder().decode(body.subarray(0, 64 * 1024));
  let upstream = text.trim().slice(0, 2000);
  try {
    // OpenAI: {"error":{"message":...}}; FastAPI: {"detail": "..." | [{msg}]}; llama.cpp: {"error":{"message"}}.
    const json = JSON.parse(text) as { error?: { message?: string } | string; detail?: unknown; message?: string };
    const err = json.error;
    const detail = Array.isArray(json.detail)
      ? json.detail.map((d: { msg?: string }) => d?.msg ?? JSON.stringify(d)).join("; ")
      : typeof json.detail === "string" ? json.detail : undefined;
    upstream = (typeof err === "string" ? err : err?.message) ?? detail ?? json.message ?? upstream;
  } catch {
    // Not JSON: keep the raw text.
  }
  const details: Record<string, unknown> = { status: response.status, url, upstream };
  const retryAfter = response.headers.get("retry-after");
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - Date.now();
    if (Number.isFinite(ms)) details["retryAfterMs"] = Math.max(0, Math.round(ms));
  }
  return new ForgeError(httpStatusCode(response.status), `${url} answered HTTP ${response.status}${upstream ? `: ${upstream}` : ""}`, { details });
}

/** Parses a JSON response body, or fails with `FORGE_BAD_RESPONSE`. */
export function parseJson(result: HttpResult, url: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(result.body));
  } catch (err) {
    throw new ForgeError(ForgeCode.BadResponse, `${url} answered with invalid JSON`, { cause: err, details: { url } });
  }
}

/** A `FORGE_BAD_RESPONSE` error for a response that does not have the expected shape. */
export function badShape(url: string, what: string): ForgeError {
  return new ForgeError(ForgeCode.BadResponse, `${url} answered without ${what}`, { details: { url } });
}
