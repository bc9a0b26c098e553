import { loadBrokerConfig } from "../../broker/config-file.ts";
import { BrokerError } from "../../broker/errors.ts";
import type { Broker, BrokerLogEntry, BrokerOptions } from "../../broker/server.ts";
import { startBroker } from "../../http/start.ts";
import type { BrokerLimits } from "../../broker/types.ts";
import { LIMIT_FLAGS } from "../commands/broker.ts";
import type { BrokerFlags } from "../commands/broker.ts";
import type { CommandContext } from "../context.ts";
import { DNS_CODES, systemCode } from "../cause.ts";
import { CliError, ExitCode } from "../errors.ts";
import type { StopSignal } from "../io.ts";
import { createLogger } from "../log.ts";
import { curveServerFlags } from "../curve.ts";
import { loadTransport } from "../transport.ts";
import { VERSION } from "../version.ts";
import { encodeZ85 } from "../../zmtp/z85.ts";

/**
 * `malamute broker`: start the broker, log, and stop it gracefully on the first SIGINT/SIGTERM
 * (a second one stops waiting). Loaded only when the command runs, so help starts fast.
 *
 * @example
 * ```ts
 * context.exitCode = await runBroker({ transport: "zmtp", logLevel: "info" }, context);
 * ```
 */
export async function runBroker(flags: BrokerFlags, context: CommandContext): Promise<number> {
  const { io } = context;
  const fileVerbose = flags.config !== undefined ? (await loadConfig(flags.config)).verbose : false;
  const log = createLogger({
    level: flags.verbose || fileVerbose ? "debug" : flags.logLevel,
    json: flags.json === true,
    write: (line) => io.stderr(line),
  });

  // Listen for signals before binding, so a signal during startup still stops cleanly.
  const stop = stopSignals(context);
  try {
    // Log records of a start that fails (e.g. "shut down" after a failed bind) would bury the
    // one error line, so they are held until the broker is up.
    let held: BrokerLogEntry[] | undefined = [];
    const options: BrokerOptions = {
      transport: await loadTransport(flags.transport),
      limits: limitsFrom(flags),
      log: (entry) => {
        if (held) held.push(entry);
        else log.log(entry.level, entry.message, entry.fields);
      },
    };
    if (flags.config !== undefined) options.config = flags.config;
    if (flags.bind !== undefined) options.endpoints = flags.bind;
    if (flags.timeout !== undefined) options.timeout = flags.timeout;
    if (flags.http !== undefined) {
      // Credentials stay in the config file (mlm_server/http), not on a command line others can read.
      const auth = flags.config !== undefined ? (await loadConfig(flags.config)).http?.auth : undefined;
      options.http = { listen: flags.http, ...(auth ? { auth } : {}) };
    }
    if (flags.curveKeys !== undefined) options.curve = await curveServerFlags(flags.curveKeys);
    if (flags.dataDir !== undefined) options.storage = { ...(await fileStorage(flags.config)), dir: flags.dataDir };
    if (flags.fsync !== undefined) {
      if (!options.storage && !(flags.config !== undefined && (await loadConfig(flags.config)).storage)) {
        throw new CliError("CLI_USAGE", "--fsync needs a data directory", { hint: "add --data-dir DIR", exitCode: ExitCode.usage });
      }
      options.storage = { ...(options.storage ?? (await fileStorage(flags.config))), fsync: flags.fsync };
    }

    let broker: Broker;
    try {
      broker = await startBroker(options);
    } catch (error) {
      throw startFailure(error);
    }
    for (const entry of held) log.log(entry.level, entry.message, entry.fields);
    held = undefined;
    broker.on("error", (error) => log.error("broker error", { error }));
    const storage = broker.stats().storage;
    log.info("broker started", {
      version: VERSION, endpoints: [...broker.endpoints], transport: flags.transport, pid: process.pid,
      ...(storage ? { dataDir: storage.dir, fsync: storage.fsync } : {}),
      ...(broker.http ? { http: broker.http } : {}),
      ...(options.curve ? { curvePublicKey: encodeZ85(options.curve.publicKey as Uint8Array) } : {}),
    });

    const signal = await stop.first;
    log.info("stopping", { signal });
    const stopped = await Promise.race([broker.close().then(() => true), stop.second.then(() => false)]);
    if (!stopped) {
      log.warn("second signal: exiting without waiting for the shutdown to finish");
      return 128 + 2;
    }
    log.info("broker stopped", { counters: broker.stats().counters });
    return ExitCode.ok;
  } finally {
    stop.dispose();
  }
}

async function loadConfig(path: string) {
  try {
    return await loadBrokerConfig(path);
  } catch (error) {
    throw startFailure(error);
  }
}

/** The config file's storage settings, which --data-dir and --fsync amend. */
async function fileStorage(config: string | undefined) {
  return config === undefined ? {} : (await loadConfig(config)).storage ?? {};
}

function limitsFrom(flags: BrokerFlags): Partial<BrokerLimits> {
  const limits: Partial<BrokerLimits> = {};
  for (const [, key] of LIMIT_FLAGS) {
    const value = flags[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}

function startFailure(error: unknown): unknown {
  if (!(error instanceof BrokerError)) return error;
  const code = systemCode(error);
  if (error.code === "BROKER_CONFIG") {
    // A file that cannot be read is not a file to fix.
    const hint = code === undefined
      ? "fix the config file (ZPL: `key = value`, nested by 4-space indents), or use --bind and friends"
      : code === "ENOENT" || code === "ENOTDIR" ? "check the --config path"
      : code === "EACCES" || code === "EPERM" ? "make the config file readable by this user"
      : code === "EISDIR" ? "--config takes a file, not a folder"
      : "check the --config path";
    return new CliError("CLI_CONFIG", error.message, { hint, exitCode: ExitCode.usage, cause: error });
  }
  if (error.code === "BROKER_BIND") {
    // The transport's message already names the endpoint; the broker's adds it again.
    const message = error.cause instanceof Error && error.cause.message.includes("bind") ? error.cause.message : error.message;
    return new CliError("CLI_BIND", message, { hint: bindHint(code), cause: error });
  }
  if (error.code === "BROKER_STORAGE") {
    return new CliError("CLI_STORAGE", error.message, {
      hint: "is another broker using this --data-dir? is it writable?",
      cause: error,
    });
  }
  return error;
}

function bindHint(code: string | undefined): string {
  if (code === "EADDRINUSE") return "is another broker already listening there? choose another --bind endpoint";
  if (code !== undefined && DNS_CODES.has(code)) return "the host name does not resolve; bind an IP address (tcp://0.0.0.0:9999 for every interface) or a known host name";
  if (code === "EADDRNOTAVAIL") return "that address is not one of this machine's; bind tcp://0.0.0.0:PORT or a local address";
  if (code === "EACCES" || code === "EPERM") return "ports below 1024 need privileges; choose a higher port";
  return "check the --bind endpoint (tcp://HOST:PORT, ipc://PATH or inproc://NAME)";
}

/** The first stop signal, and a second one that means "stop waiting". */
function stopSignals(context: CommandContext): { first: Promise<StopSignal>; second: Promise<StopSignal>; dispose: () => void } {
  let count = 0;
  let resolveFirst!: (signal: StopSignal) => void;
  let resolveSecond!: (signal: StopSignal) => void;
  const first = new Promise<StopSignal>((resolve) => (resolveFirst = resolve));
  const second = new Promise<StopSignal>((resolve) => (resolveSecond = resolve));
  const dispose = context.io.onStop((signal) => {
    count++;
    if (count === 1) resolveFirst(signal);
    else resolveSecond(signal);
  });
  return { first, second, dispose };
}
