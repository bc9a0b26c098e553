/** Log levels, most verbose first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured fields attached to one log line. */
export type LogFields = Record<string, unknown>;

/**
 * A levelled logger writing one line per event: readable text by default, or one JSON object
 * per line (`{"time","level","msg",...fields}`) for log shippers.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "info", json: false, write: (line) => process.stderr.write(line) });
 * log.info("listening", { endpoint: "tcp://127.0.0.1:9999" });
 * ```
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

/**
 * Build a logger. `now` is injectable so tests can pin the timestamp.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "warn", json: true, write: (line) => lines.push(line) });
 * log.warn("mailbox full", { address: "alice" });
 * ```
 */
export function createLogger(options: {
  level: LogLevel;
  json: boolean;
  write: (line: string) => void;
  now?: () => Date;
}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const now = options.now ?? (() => new Date());
  const enabled = (level: LogLevel) => LOG_LEVELS.indexOf(level) >= threshold;
  const log = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (!enabled(level)) return;
    const time = now().toISOString();
    options.write(options.json ? jsonLine(time, level, msg, fields) : textLine(time, level, msg, fields));
  };
  return {
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
    log,
    enabled,
  };
}

function jsonLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  return JSON.stringify({ time, level, msg, ...fields }, replacer) + "\n";
}

function textLine(time: string, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const [key, text] of flatten("", fields)) {
    line += ` ${key}=${/^[^\s"=]+$/.test(text) ? text : JSON.stringify(text)}`;
  }
  return line + "\n";
}

/** Nested objects become dotted keys and lists of plain values comma lists, so text lines stay greppable. */
function flatten(prefix: string, fields: LogFields): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const key = prefix + name;
    if (Array.isArray(value) && value.every((item) => item === null || typeof item !== "object")) {
      out.push([key, value.map(String).join(",")]);
    } else if (isPlainObject(value)) {
      out.push(...flatten(`${key}.`, value));
    } else {
      out.push([key, typeof value === "string" ? value : JSON.stringify(value, replacer)]);
    }
  }
  return out;
}

function isPlainObject(value: unknown): value is LogFields {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Errors and byte arrays have no useful JSON form of their own. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined ? value.message : `${value.message} [${String(code)}]`;
  }
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (typeof value === "number" && !Number.isFinite(value)) return value > 0 ? "max" : String(value);
  return value;
}
