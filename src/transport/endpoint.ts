import { TransportError } from "./errors.ts";

/** A parsed endpoint. */
export type Endpoint =
  | { scheme: "tcp"; host: string; port: number }
  | { scheme: "inproc"; name: string };

/**
 * Parse `tcp://host:port`, `tcp://*:port`, `tcp://[::1]:port` or `inproc://name`.
 * Throws TransportError `BAD_ENDPOINT` with a message that says what is wrong.
 */
export function parseEndpoint(endpoint: string): Endpoint {
  const match = /^([a-z]+):\/\/(.+)$/.exec(endpoint);
  if (!match) throw badEndpoint(endpoint, "expected scheme://address, e.g. tcp://127.0.0.1:9999");
  const [, scheme, rest] = match as unknown as [string, string, string];
  if (scheme === "inproc") return { scheme, name: rest };
  if (scheme !== "tcp") throw badEndpoint(endpoint, `unsupported scheme "${scheme}" (use tcp:// or inproc://)`);
  const hostPort = /^(\[[^\]]+\]|[^:\[\]]+):(\d+|\*)$/.exec(rest);
  if (!hostPort) throw badEndpoint(endpoint, "expected tcp://host:port");
  let host = hostPort[1] as string;
  const portText = hostPort[2] as string;
  const port = portText === "*" ? 0 : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badEndpoint(endpoint, "port must be 0-65535");
  if (host.startsWith("[")) host = host.slice(1, -1);
  if (host === "*") host = "0.0.0.0";
  if (host === "localhost") host = "127.0.0.1";
  return { scheme, host, port };
}

/** Format a TCP endpoint back into `tcp://host:port`, bracketing IPv6 hosts. */
export function formatTcpEndpoint(host: string, port: number): string {
  return `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function badEndpoint(endpoint: string, why: string): TransportError {
  return new TransportError("BAD_ENDPOINT", `bad endpoint "${endpoint}": ${why}`);
}
