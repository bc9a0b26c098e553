/**
 * Policies for the broker's CURVE `authorize` (which client public keys may connect), as the
 * transport's `CurveAuthorizer`:
 *
 * - `allowAnyCurveKey()`: encryption only, every key is accepted (what no `authorize` means).
 * - `curveKeyDirectory(dir)`: czmq zauth "curve allow from directory": every zcert file in `dir`
 *   (public or `_secret`; hidden files skipped) names an allowed key. The directory is read
 *   again at the first authorization after `reloadMs` (default 1 000 ms; 0 = on every
 *   handshake), so adding or removing a file takes effect within that time, without a restart.
 * - any async callback `(key, peer) => boolean | Promise<boolean>`.
 *
 * `reportingAuthorizer` wraps any of them so that a refusal (false, a rejection or a throw) is
 * reported to the broker (counter `curveRefused`, rate-limited log); the client gets ZMTP ERROR
 * "400" from the mechanism, as from libzmq's ZAP.
 *
 * @example
 * ```ts
 * const authorize = reportingAuthorizer(curveKeyDirectory("/etc/malamute/clients"), (key, address) => broker.curveRefused(key, address));
 * ```
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { CurveAuthorizer } from "../../transport/types.ts";
import { encodeZ85 } from "../../zmtp/z85.ts";
import { zcertPublicKey } from "./curve-cert.ts";

/**
 * Encryption only: every client key is accepted.
 *
 * @example
 * ```ts
 * const router = zmtp.router({ curve: { publicKey, secretKey, authorize: allowAnyCurveKey() } });
 * ```
 */
export function allowAnyCurveKey(): CurveAuthorizer {
  return () => true;
}

/** Options of {@link curveKeyDirectory}. */
export interface CurveKeyDirectoryOptions {
  /** Re-read the directory at the first handshake this many ms after the last read. Default 1 000; 0 = every handshake. */
  reloadMs?: number;
  /** Files read per scan; further ones are ignored (bounded memory). Default 10 000. */
  maxFiles?: number;
  /** Clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

/** Bytes of a zcert file past which it is not read (a zcert file is a few hundred bytes). */
const MAX_CERT_BYTES = 64 * 1024;

/**
 * Allowed keys from a directory of zcert files (czmq zauth `curve allow from directory`).
 * A directory that cannot be read allows no one until it can.
 *
 * @example
 * ```ts
 * const authorize = curveKeyDirectory("certs/clients", { reloadMs: 5_000 });
 * ```
 */
export function curveKeyDirectory(dir: string, options: CurveKeyDirectoryOptions = {}): CurveAuthorizer & { keys(): Promise<Set<string>> } {
  const reloadMs = options.reloadMs ?? 1000;
  const maxFiles = options.maxFiles ?? 10_000;
  const now = options.now ?? (() => performance.now());
  let keys: Set<string> = new Set();
  let readAt = -Infinity;
  let scanning: Promise<Set<string>> | undefined;
  const scan = async (): Promise<Set<string>> => {
    const found = new Set<string>();
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return found;
    }
    for (const name of names.filter((n) => !n.startsWith(".")).sort().slice(0, maxFiles)) {
      const path = join(dir, name);
      try {
        const info = await stat(path);
        if (!info.isFile() || info.size > MAX_CERT_BYTES) continue;
        const key = zcertPublicKey(await readFile(path, "utf8"));
        if (key !== undefined) found.add(key);
      } catch {
        // Removed between readdir and read, or unreadable: not a key.
      }
    }
    return found;
  };
  const current = (): Promise<Set<string>> => {
    if (now() - readAt < reloadMs) return Promise.resolve(keys);
    scanning ??= scan().then((k) => {
      keys = k;
      readAt = now();
      scanning = undefined;
      return k;
    });
    return scanning;
  };
  const authorize = async (key: Uint8Array): Promise<boolean> => (await current()).has(encodeZ85(key));
  return Object.assign(authorize, { keys: current });
}

/**
 * `policy`, reporting each refusal (false, a rejection or a throw all refuse) to `onRefused`.
 *
 * @example
 * ```ts
 * const authorize = reportingAuthorizer(async (key) => lookUp(key), (key, address) => broker.curveRefused(key, address));
 * ```
 */
export function reportingAuthorizer(
  policy: CurveAuthorizer,
  onRefused: (key: Uint8Array, address: string) => void,
): CurveAuthorizer {
  return async (key, peer) => {
    let allowed = false;
    try {
      allowed = (await policy(key, peer)) === true;
    } catch {
      allowed = false;
    }
    if (!allowed) onRefused(key, peer.address);
    return allowed;
  };
}

/** How the broker decides which CURVE client keys may connect. */
export type CurveAuthPolicy = "any" | { directory: string; reloadMs?: number } | CurveAuthorizer;

/**
 * The authorizer of a policy: `"any"` (or undefined) accepts every key, `{ directory }` reads
 * zcert files (see {@link curveKeyDirectory}), a function is used as it is.
 *
 * @example
 * ```ts
 * const authorize = curveAuthorizer({ directory: "/etc/malamute/clients" });
 * ```
 */
export function curveAuthorizer(policy: CurveAuthPolicy | undefined): CurveAuthorizer {
  if (policy === undefined || policy === "any") return allowAnyCurveKey();
  if (typeof policy === "function") return policy;
  return curveKeyDirectory(policy.directory, policy.reloadMs !== undefined ? { reloadMs: policy.reloadMs } : {});
}
