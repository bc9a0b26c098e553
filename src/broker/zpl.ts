import { parseZpl as parseZplText, ZplError, type ZplNode } from "../util/zpl.ts";
import { BrokerError } from "./errors.ts";

export { type ZplNode, zplNodes, zplValue } from "../util/zpl.ts";

/**
 * Parse a broker config file's ZPL text (the parser itself is shared, in src/util/zpl.ts, with
 * the CURVE certificate reader). Throws {@link BrokerError} `BROKER_CONFIG` naming the line of
 * the first error.
 *
 * @example
 * ```ts
 * const root = parseZpl("server\n    timeout = 10000\n");
 * zplValue(root, "server/timeout"); // "10000"
 * ```
 */
export function parseZpl(text: string): ZplNode {
  try {
    return parseZplText(text);
  } catch (error) {
    if (error instanceof ZplError) {
      throw new BrokerError("BROKER_CONFIG", `config line ${error.line}: ${error.reason}`, { cause: error });
    }
    throw error;
  }
}
