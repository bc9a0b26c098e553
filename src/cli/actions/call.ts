import { mkdir, readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import Type from "typebox";
import { connect } from "../../rpc/client/client.ts";
import type { RpcClient, RpcClientOptions } from "../../rpc/client/client.ts";
import { defineService, isStreamMethod } from "../../rpc/contract.ts";
import { contractFromJsonSchema } from "../../rpc/json-schema-contract.ts";
import type { ServiceContract } from "../../rpc/contract.ts";
import { RpcCancelledError, RpcDeadlineError, RpcErrorCode, RpcProtocolError, RpcRemoteError, RpcValidationError } from "../../rpc/errors.ts";
import { splitTarget } from "../commands/call.ts";
import type { CallFlags } from "../commands/call.ts";
import { connectFailure, replyAddress, securityOptions } from "../connect.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { relativeModulePath } from "../module-url.ts";
import { loadTransport } from "../transport.ts";
import { extractBinary, parseCallInput } from "../values.ts";

/**
 * `malamute call`: one RPC call with progress on stderr, the result on stdout and binary fields
 * saved to files; Ctrl-C cancels the call on the worker. Loaded only when the command runs.
 *
 * @example
 * ```ts
 * context.exitCode = await runCall("echo.say", '{"text":"hi"}', { ...clientFlags, deadline: 30000, out: "." }, context);
 * ```
 */
export async function runCall(target: string, inputArg: string | undefined, flags: CallFlags, context: CommandContext): Promise<number> {
  const { io } = context;
  const { service, method } = splitTarget(target);
  const input = await parseCallInput(inputArg, io);
  const contract = flags.contract !== undefined
    ? await loadContract(flags.contract, service)
    : rawContract(service, method, flags.stream === true);
  const schema = contract.methods[method];
  if (schema === undefined) {
    throw new CliError("CLI_CONTRACT", `the contract of ${service} has no method "${method}"`, {
      hint: `its methods are: ${Object.keys(contract.methods).join(", ") || "(none)"}`,
      exitCode: ExitCode.usage,
    });
  }
  if (flags.stream === true && !isStreamMethod(schema)) {
    throw new CliError("CLI_USAGE", `${service}.${method} is a unary method (says --contract)`, {
      hint: "call it without --stream",
      exitCode: ExitCode.usage,
    });
  }
  if (flags.out !== undefined) await mkdir(flags.out, { recursive: true });

  const options: RpcClientOptions = {
    address: replyAddress("call"),
    defaultTimeout: flags.deadline,
    transport: await loadTransport(flags.transport),
    mlm: { timeout: flags.connectTimeout, ...(await securityOptions(flags)) },
  };
  let client: RpcClient<{ target: ServiceContract }>;
  try {
    client = await connect(flags.endpoint, { target: contract }, options);
  } catch (error) {
    throw connectFailure(error, flags);
  }

  const cancel = new AbortController();
  const disposeSignals = io.onStop(() => cancel.abort());
  const progress = progressReporter(`${service}.${method}`, flags.quiet === true, io);
  try {
    const call = (client.target as unknown as Record<string, (input: unknown, options: object) => unknown>)[method];
    if (call === undefined) throw new CliError("CLI_CONTRACT", `no method "${method}" on ${service}`);
    if (isStreamMethod(schema)) {
      let index = 0;
      for await (const chunk of call(input, { signal: cancel.signal, timeout: flags.deadline }) as AsyncIterable<unknown>) {
        progress.clear();
        await printValue(chunk, `${method}.${index++}`, flags, io, false);
      }
    } else {
      const result = await (call(input, {
        signal: cancel.signal,
        timeout: flags.deadline,
        onProgress: (value: unknown) => progress.report(value),
      }) as Promise<unknown>);
      progress.clear();
      await printValue(result, method, flags, io, flags.json !== true);
    }
    return ExitCode.ok;
  } catch (error) {
    throw await callFailure(error, `${service}.${method}`, flags);
  } finally {
    progress.clear();
    disposeSignals();
    await client.close();
  }
}

/** A contract accepting anything, for calls made without --contract: JSON in, whatever comes back out. */
function rawContract(service: string, method: string, stream: boolean): ServiceContract {
  try {
    return defineService(service, {
      [method]: stream
        ? { input: Type.Unknown(), chunk: Type.Unknown() }
        : { input: Type.Unknown(), output: Type.Unknown(), progress: Type.Unknown() },
    });
  } catch (error) {
    throw new CliError("CLI_USAGE", (error as Error).message, {
      hint: "service and method names are letters, digits, _ . : and -",
      exitCode: ExitCode.usage,
    });
  }
}

/**
 * Import a contract module and pick the contract of `service` among its exports (also inside
 * an exported object such as `export const contracts = { a, b }`).
 */
async function loadContract(path: string, service: string): Promise<ServiceContract> {
  if (/\.json$/i.test(path)) return loadJsonContract(path, service);
  let module: Record<string, unknown>;
  try {
    const url = pathToFileURL(resolve(path)).href;
    const relative = relativeModulePath(import.meta.url, url);
    // A relative template keeps this import analyzable for `deno publish` (see relativeModulePath).
    if (relative === undefined) throw new Error(`${url} is on another drive than the CLI: copy it to the drive the CLI runs from`);
    module = await import(`./${relative}`) as Record<string, unknown>;
  } catch (error) {
    const typescript = /\.[cm]?tsx?$/.test(path) && !("Bun" in globalThis) && !("Deno" in globalThis);
    throw new CliError("CLI_CONTRACT", `cannot load contract module ${path}: ${(error as Error).message}`, {
      hint: typescript
        ? "plain Node cannot import TypeScript here: point --contract at compiled JavaScript, or run the CLI with tsx, bun or deno"
        : "check the path; the module must export the contract made with defineService()",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
  const found: ServiceContract[] = [];
  for (const value of Object.values(module)) {
    if (isContract(value)) found.push(value);
    else if (typeof value === "object" && value !== null) {
      for (const inner of Object.values(value)) if (isContract(inner)) found.push(inner);
    }
  }
  const contract = found.find((candidate) => candidate.name === service);
  if (contract === undefined) {
    const names = [...new Set(found.map((c) => c.name))];
    throw new CliError("CLI_CONTRACT", `${path} exports no contract for service "${service}"`, {
      hint: names.length > 0 ? `it has: ${names.join(", ")}` : "export the value returned by defineService()",
      exitCode: ExitCode.usage,
    });
  }
  return contract;
}

/** A contract from the JSON Schema document `contract.toJsonSchema()` exports: no TypeScript loader needed. */
async function loadJsonContract(path: string, service: string): Promise<ServiceContract> {
  let contract: ServiceContract;
  try {
    contract = contractFromJsonSchema(JSON.parse(await readFile(path, "utf8")));
  } catch (error) {
    throw new CliError("CLI_CONTRACT", `cannot load contract document ${path}: ${(error as Error).message}`, {
      hint: "write it with JSON.stringify(contract.toJsonSchema()) (or contractJsonSchema(contract))",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
  if (contract.name !== service) {
    throw new CliError("CLI_CONTRACT", `${path} is the contract of service "${contract.name}", not "${service}"`, {
      exitCode: ExitCode.usage,
    });
  }
  return contract;
}

function isContract(value: unknown): value is ServiceContract {
  const candidate = value as Partial<ServiceContract> | null;
  return typeof candidate === "object" && candidate !== null && typeof candidate.name === "string" &&
    typeof candidate.methods === "object" && typeof candidate.toJsonSchema === "function";
}

async function printValue(value: unknown, base: string, flags: CallFlags, io: CliIo, pretty: boolean): Promise<void> {
  const { json, files } = extractBinary(value, flags.out, base);
  for (const file of files) await writeFile(file.path, file.bytes);
  io.stdout((json === undefined ? "null" : JSON.stringify(json, null, pretty ? 2 : undefined)) + "\n");
}

/** Progress on stderr: one redrawn line on a terminal (with elapsed time), else one line per value. */
function progressReporter(label: string, quiet: boolean, io: CliIo): { report(value: unknown): void; clear(): void } {
  if (quiet) return { report: () => {}, clear: () => {} };
  if (!io.stderrIsTty) {
    return { report: (value) => io.stderr(`progress ${JSON.stringify(extractBinary(value, undefined, "progress").json)}\n`), clear: () => {} };
  }
  const started = Date.now();
  let last = "";
  let shown = false;
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.stderr(`\r\x1b[K${label} ${seconds}s${last === "" ? "" : ` ${last}`}`);
    shown = true;
  };
  // Quick calls print nothing; a call still running after a second gets a live line.
  const timer = setInterval(() => {
    if (Date.now() - started >= 1000) draw();
  }, 250);
  return {
    report: (value) => {
      last = JSON.stringify(extractBinary(value, undefined, "progress").json).slice(0, 120);
      draw();
    },
    clear: () => {
      clearInterval(timer);
      if (shown) io.stderr("\r\x1b[K");
      shown = false;
    },
  };
}

async function callFailure(error: unknown, target: string, flags: CallFlags): Promise<unknown> {
  const service = splitTarget(target).service;
  const worker = error instanceof RpcProtocolError ? (error.details as { worker?: string } | undefined)?.worker : undefined;
  if (worker !== undefined) {
    // The reply's kind says how the worker serves the method: name the flag that matches it.
    const streams = worker === "stream";
    return new CliError("CLI_USAGE", `${target} ${streams ? "streams its results" : "is a unary method"}`, {
      hint: streams ? "call it with --stream (or give --contract)" : "call it without --stream",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
  if (error instanceof RpcValidationError) {
    return new CliError("CLI_RPC", error.message, {
      hint: "fix the input to match the contract (see its schema)",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
  if (error instanceof RpcCancelledError) {
    return new CliError("CLI_CANCELLED", "call cancelled", { exitCode: 130, cause: error });
  }
  if (error instanceof RpcDeadlineError) {
    // Whether anyone serves the method decides the advice: start a worker, or wait longer.
    const { workersOf } = await import("./stat.ts");
    return new CliError("CLI_TIMEOUT", `${error.message} (--deadline ${flags.deadline} ms)`, {
      hint: deadlineHint(service, await workersOf(flags, service)),
      cause: error,
    });
  }
  if (error instanceof RpcRemoteError && error.code === RpcErrorCode.DEADLINE_EXCEEDED) {
    return new CliError("CLI_TIMEOUT", `${error.message} (--deadline ${flags.deadline} ms)`, {
      hint: "a worker took the call but did not finish in time; raise --deadline",
      cause: error,
    });
  }
  if (error instanceof RpcRemoteError) {
    return new CliError("CLI_RPC", `${error.message} [${error.code}]`, { cause: error });
  }
  return error;
}

/**
 * The advice for a call that missed its deadline, from how many workers offer the service
 * (`undefined` when the broker cannot say).
 *
 * @example
 * ```ts
 * deadlineHint("imgsvc", 0); // 'no worker for "imgsvc" is registered with the broker: start one…'
 * ```
 */
export function deadlineHint(service: string, workers: number | undefined): string {
  if (workers === undefined) return `is a worker for "${service}" running, and is it slower than --deadline? check with \`malamute stat\``;
  if (workers === 0) return `no worker for "${service}" is registered with the broker: start one (see \`malamute stat\`)`;
  return `${workers} worker${workers === 1 ? "" : "s"} for "${service}" ${workers === 1 ? "is" : "are"} registered but did not answer in time; raise --deadline`;
}
