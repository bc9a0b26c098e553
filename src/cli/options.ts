import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";
import type { ConsumerFrom } from "../client/types.ts";
import { parseEndpoint } from "../transport/endpoint.ts";
import { CliError, ExitCode } from "./errors.ts";

/** Where clients look for the broker when neither --endpoint nor MALAMUTE_ENDPOINT is given. */
export const DEFAULT_ENDPOINT = "tcp://127.0.0.1:9999";

/**
 * Commander argument parser for a whole number within bounds (milliseconds, counts).
 *
 * @example
 * ```ts
 * new Option("--timeout <ms>").argParser(integer({ min: 1 }));
 * ```
 */
export function integer(bounds: { min?: number; max?: number } = {}): (value: string) => number {
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return (value) => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `expected a whole number of at least ${min}` : `expected a whole number from ${min} to ${max}`,
      );
    }
    return n;
  };
}

const UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
};

/**
 * Parse a byte size: `65536`, `64k`, `64KiB`, `10MB`, `1g`, or `max` (no limit, as in the C
 * broker's config).
 *
 * @example
 * ```ts
 * parseSize("64KiB"); // 65536
 * parseSize("max");   // Infinity
 * ```
 */
export function parseSize(value: string): number {
  const text = value.trim().toLowerCase();
  if (text === "max") return Number.POSITIVE_INFINITY;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text);
  const unit = match ? UNITS[match[2] as string] : undefined;
  if (!match || unit === undefined) {
    throw new InvalidArgumentError("expected a size such as 65536, 64KiB, 10MB or max");
  }
  return Math.floor(Number(match[1]) * unit);
}

/** Commander parser for a count that also accepts `max` (no limit). */
export function countOrMax(value: string): number {
  return value.trim().toLowerCase() === "max" ? Number.POSITIVE_INFINITY : integer({ min: 1 })(value);
}

/**
 * Parse `recv --from`: `first`, `new`, `seq:N`, `last:N` or `time:T`, where T is an ISO 8601
 * date (`2026-01-02T03:04:05Z`) or milliseconds since the epoch.
 *
 * @example
 * ```ts
 * parseFrom("seq:42");                 // { seq: 42 }
 * parseFrom("time:2026-01-02T03:04Z"); // { time: Date }
 * ```
 */
export function parseFrom(value: string): ConsumerFrom {
  const text = value.trim();
  if (text === "first" || text === "new") return text;
  const colon = text.indexOf(":");
  const kind = colon < 0 ? text : text.slice(0, colon);
  const arg = colon < 0 ? "" : text.slice(colon + 1).trim();
  if (kind === "seq" || kind === "last") {
    const n = /^\d+$/.test(arg) ? Number(arg) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${kind}: needs a whole number of at least 1, e.g. ${kind}:10`);
    return kind === "seq" ? { seq: n } : { last: n };
  }
  if (kind === "time") {
    const ms = /^\d+$/.test(arg) ? Number(arg) : Date.parse(arg);
    if (!Number.isFinite(ms)) throw new InvalidArgumentError("time: needs an ISO date such as time:2026-01-02T03:04:05Z, or ms since the epoch");
    return { time: new Date(ms) };
  }
  throw new InvalidArgumentError("expected first, new, seq:N, last:N or time:ISO-DATE");
}

/** Commander parser that checks an endpoint's syntax up front, so a typo fails before any I/O. */
export function endpointArg(value: string): string {
  try {
    parseEndpoint(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

/** Commander parser for repeatable options: collects every value, in order. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** The options every command that connects to a broker shares. */
export interface ClientFlags {
  endpoint: string;
  transport: "zmtp" | "zeromq";
  connectTimeout: number;
  plain?: { username: string; password: string };
  /** `--curve-server-key`: the broker's CURVE public key, Z85 or a certificate file. */
  curveServerKey?: string;
  /** `--curve-keys`: our key pair, a `malamute keygen` certificate file. */
  curveKeys?: string;
}

/**
 * Add --endpoint, --transport, --connect-timeout, --plain, --curve-server-key and --curve-keys
 * to a command that talks to a broker.
 *
 * @example
 * ```ts
 * addClientOptions(program.command("stat"));
 * ```
 */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(
      new Option("-e, --endpoint <endpoint>", "broker endpoint")
        .env("MALAMUTE_ENDPOINT")
        .default(DEFAULT_ENDPOINT)
        .argParser(endpointArg),
    )
    .addOption(transportOption())
    .addOption(
      new Option("--connect-timeout <ms>", "give up if the broker has not answered within this time")
        .default(5000)
        .argParser(integer({ min: 1 })),
    )
    .addOption(
      new Option("--plain <user:password>", "log in with ZMTP PLAIN").env("MALAMUTE_PLAIN").argParser(parsePlain),
    )
    .addOption(
      new Option("--curve-server-key <key|file>", "encrypt with ZMTP CURVE; the broker's public key (Z85) or certificate file")
        .env("MALAMUTE_CURVE_SERVER_KEY"),
    )
    .addOption(
      new Option("--curve-keys <file>", "with --curve-server-key: our key pair (from `malamute keygen --out`; default: a fresh one)")
        .env("MALAMUTE_CURVE_KEYS"),
    );
}

/** The --transport option, shared by the broker and the clients. */
export function transportOption(): Option {
  return new Option("--transport <name>", "wire implementation: zmtp (pure TypeScript) or zeromq (libzmq addon)")
    .choices(["zmtp", "zeromq"])
    .default("zmtp");
}

/** Split `user:password` (the password may contain colons). */
export function parsePlain(value: string): { username: string; password: string } {
  const colon = value.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError("expected user:password");
  return { username: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * Check that exactly one of several mutually exclusive options was given, and return which.
 *
 * @example
 * ```ts
 * const { key, value } = exactlyOne(flags, ["to", "service", "stream"], "send");
 * ```
 */
export function exactlyOne<K extends string>(
  flags: Partial<Record<K, string>>,
  keys: readonly K[],
  command: string,
): { key: K; value: string } {
  const given = keys.filter((key) => flags[key] !== undefined);
  if (given.length === 1) {
    const key = given[0] as K;
    return { key, value: flags[key] as string };
  }
  const names = keys.map((key) => `--${key}`);
  const list = `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
  throw new CliError("CLI_USAGE", given.length === 0 ? `missing destination: give ${list}` : `give only one of ${list}`, {
    hint: `run \`malamute ${command} --help\` for examples`,
    exitCode: ExitCode.usage,
  });
}
