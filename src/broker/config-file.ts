import { readFile } from "node:fs/promises";
import { parseBrokerConfig } from "./config.ts";
import type { BrokerFileConfig } from "./config.ts";
import { BrokerError } from "./errors.ts";

/**
 * Read and parse a C broker configuration file (`malamute.cfg`, ZPL). Throws
 * {@link BrokerError} `BROKER_CONFIG` when the file cannot be read or is invalid.
 *
 * @example
 * ```ts
 * const cfg = await loadBrokerConfig("/etc/malamute/malamute.cfg");
 * const broker = await startBroker({ endpoints: cfg.endpoints, timeout: cfg.timeout, limits: cfg.limits });
 * ```
 */
export async function loadBrokerConfig(path: string): Promise<BrokerFileConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new BrokerError("BROKER_CONFIG", `cannot read config file ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return parseBrokerConfig(text);
  } catch (error) {
    if (error instanceof BrokerError) throw new BrokerError("BROKER_CONFIG", `${path}: ${error.message}`, { cause: error });
    throw error;
  }
}
