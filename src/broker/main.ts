// Minimal runnable broker for tests and benchmarks: `node --import tsx src/broker/main.ts
// --endpoint tcp://127.0.0.1:9999 [--config malamute.cfg]`; users run `malamute broker` (`npm run broker`).
// Runs in the foreground, logs to stderr, stops cleanly on SIGINT/SIGTERM.
import process from "node:process";
import { parseArgs } from "node:util";
import { BrokerError } from "./errors.ts";
import { startBroker } from "./server.ts";
import type { BrokerLogEntry } from "./server.ts";
import type { LogLevel } from "./types.ts";
import type { FsyncPolicy } from "../storage/types.ts";

const USAGE = `usage: src/broker/main.ts [--endpoint tcp://HOST:PORT]... [--config FILE] [--timeout MS]
                          [--data-dir DIR [--fsync always|interval|never]] [--verbose]

  -e, --endpoint   endpoint to bind (repeatable); default: the config file's, else tcp://127.0.0.1:9999
  -c, --config     C malamute.cfg (ZPL): server/timeout, mlm_server/bind/endpoint,
                   mlm_server/security/mechanism, server/auth/plain, mlm_server/security/curve-keys,
                   mailbox and service limits
  -t, --timeout    client expiry in ms (default 10000, or server/timeout from the config)
  -d, --data-dir   keep mailboxes, service queues and stream journals here (they survive restarts)
      --fsync      with --data-dir: always, interval (default) or never
  -v, --verbose    also log debug records
  -h, --help       show this help`;

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

function formatLog(entry: BrokerLogEntry): string {
  const fields = Object.entries(entry.fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${new Date().toISOString()} ${entry.level.toUpperCase()} ${entry.message}${fields.length ? " " + fields.join(" ") : ""}`;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        endpoint: { type: "string", short: "e", multiple: true },
        config: { type: "string", short: "c" },
        timeout: { type: "string", short: "t" },
        "data-dir": { type: "string", short: "d" },
        fsync: { type: "string" },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let timeout: number | undefined;
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout < 0) {
      process.stderr.write(`--timeout must be a whole number of ms, got "${values.timeout}"\n`);
      return 2;
    }
  }
  const fsync = values.fsync as FsyncPolicy | undefined;
  if (fsync !== undefined && fsync !== "always" && fsync !== "interval" && fsync !== "never") {
    process.stderr.write(`--fsync must be always, interval or never, got "${fsync}"\n`);
    return 2;
  }
  if (fsync !== undefined && values["data-dir"] === undefined) {
    process.stderr.write(`--fsync needs --data-dir\n`);
    return 2;
  }
  const storage = values["data-dir"] !== undefined ? { dir: values["data-dir"], ...(fsync ? { fsync } : {}) } : undefined;
  const threshold = values.verbose ? 0 : LEVELS.info;
  const log = (entry: BrokerLogEntry): void => {
    if (LEVELS[entry.level] >= threshold) process.stderr.write(`${formatLog(entry)}\n`);
  };

  let broker;
  try {
    broker = await startBroker({ endpoints: values.endpoint, config: values.config, timeout, log, ...(storage ? { storage } : {}) });
  } catch (error) {
    process.stderr.write(`malamute broker: ${error instanceof BrokerError ? error.message : String(error)}\n`);
    return 1;
  }
  for (const endpoint of broker.endpoints) log({ level: "info", message: "listening", fields: { endpoint } });

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      log({ level: "info", message: "stopping", fields: { signal } });
      resolve();
    };
    const onInt = (): void => stop("SIGINT");
    const onTerm = (): void => stop("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
  await broker.close();
  log({ level: "info", message: "stopped", fields: {} });
  return 0;
}

process.exitCode = await main();
