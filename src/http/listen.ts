import { BrokerError } from "../broker/errors.ts";

/**
 * `host:port` of the `http.listen` setting: `":8222"` and `"8222"` bind loopback (127.0.0.1),
 * IPv6 hosts go in brackets (`"[::1]:8222"`), port 0 picks a free one.
 *
 * @example
 * ```ts
 * parseListen("127.0.0.1:8222"); // { host: "127.0.0.1", port: 8222 }
 * ```
 */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new BrokerError("BROKER_CONFIG", `http listen address "${listen}" is not host:port`);
  }
  const host = m[1] === undefined || m[1] === "" ? "127.0.0.1" : m[1].replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}
