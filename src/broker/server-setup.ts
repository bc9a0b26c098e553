// How startBroker's options become transport settings: the limits the transport enforces,
// the CURVE key pair from a file and the PLAIN authenticator.
import { readFile } from "node:fs/promises";
import type { TcpRouterOptions } from "../transport/tcp/router.ts";
import { loadCurveKeyPair } from "../transport/curve-cert-file.ts";
import type { CurveServerOptions, PlainAuthenticator } from "../transport/types.ts";
import { parsePasswords } from "./config.ts";
import { BrokerError } from "./errors.ts";
import { HEADER_ALLOWANCE } from "./limits.ts";
import type { BrokerAuth } from "./server-options.ts";
import type { BrokerLimits } from "./types.ts";

/** The broker's limits that the transport enforces (docs/broker.md, "Limits"). */
export function transportLimits(limits: Readonly<BrokerLimits>): TcpRouterOptions {
  return {
    // maxMessageSize counts content; the transport counts every frame, the MLM header too.
    maxMessageSize: limits.maxMessageSize + HEADER_ALLOWANCE,
    maxMessageParts: limits.maxMessageParts,
    handshakeTimeout: limits.handshakeTimeout,
    receiveBudget: limits.receiveBudget,
    sendHighWaterMark: { messages: limits.peerSendMessages, bytes: limits.peerSendBytes },
  };
}

/** The CURVE key pair of the config file's `curve-keys` file (`BROKER_CONFIG` when it cannot be read). */
export async function fileCurveKeys(path: string): Promise<CurveServerOptions> {
  try {
    const { publicKey, secretKey } = await loadCurveKeyPair(path);
    return { publicKey, secretKey };
  } catch (cause) {
    throw new BrokerError("BROKER_CONFIG", `mlm_server/security/curve-keys: ${(cause as Error).message}`, { cause });
  }
}

/** The PLAIN check of `auth`: its callback, else its users, else its passwords file (re-read each time). */
export function authenticator(auth: BrokerAuth): PlainAuthenticator {
  if (auth.authenticate) return auth.authenticate;
  const users = auth.users instanceof Map ? auth.users : new Map(Object.entries(auth.users ?? {}));
  const file = auth.passwordsFile;
  return async (username, password) => {
    if (users.get(username) === password) return true;
    if (file === undefined) return false;
    try {
      return parsePasswords(await readFile(file, "utf8")).get(username) === password;
    } catch {
      return false;
    }
  };
}
