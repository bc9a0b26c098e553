import { loadCurveKeyPair, resolveCurveKey } from "../transport/curve-cert-file.ts";
import type { CurveClientOptions, CurveServerOptions } from "../transport/types.ts";
import { curveKeyPair } from "../zmtp/mechanism/curve/box.ts";
import { CurveCertError } from "../zmtp/errors.ts";
import { CliError, ExitCode } from "./errors.ts";

/**
 * CURVE client keys from `--curve-server-key KEY|FILE` and `--curve-keys FILE`. Without
 * `--curve-keys` the client uses a fresh key pair for this run: enough for a broker that admits
 * any client key (encryption and server authentication only).
 *
 * @throws CliError `CLI_CURVE` (exit 2) for a key or file that cannot be used.
 * @example
 * ```ts
 * const curve = await curveClientFlags({ curveServerKey: "keys/broker", curveKeys: "keys/me" });
 * ```
 */
export async function curveClientFlags(flags: { curveServerKey?: string; curveKeys?: string }): Promise<CurveClientOptions | undefined> {
  if (flags.curveServerKey === undefined) {
    if (flags.curveKeys === undefined) return undefined;
    throw new CliError("CLI_USAGE", "--curve-keys needs --curve-server-key (the broker's public key)", {
      hint: "add --curve-server-key KEY|FILE, e.g. the broker's public certificate from `malamute keygen --out`",
      exitCode: ExitCode.usage,
    });
  }
  const serverKey = await usable(() => resolveCurveKey(flags.curveServerKey as string), "--curve-server-key");
  const own = flags.curveKeys === undefined ? curveKeyPair() : await usable(() => loadCurveKeyPair(flags.curveKeys as string), "--curve-keys");
  return { serverKey, publicKey: own.publicKey, secretKey: own.secretKey };
}

/**
 * The broker's CURVE keys from `malamute broker --curve-keys FILE`.
 *
 * @throws CliError `CLI_CURVE` (exit 2).
 * @example
 * ```ts
 * const curve = await curveServerFlags("keys/broker");
 * ```
 */
export async function curveServerFlags(file: string): Promise<CurveServerOptions> {
  const { publicKey, secretKey } = await usable(() => loadCurveKeyPair(file), "--curve-keys");
  return { publicKey, secretKey };
}

async function usable<T>(load: () => Promise<T>, flag: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!(error instanceof CurveCertError)) throw error;
    throw new CliError("CLI_CURVE", `${flag}: ${error.message}`, {
      hint: "give a 40-character Z85 key or a certificate file written by `malamute keygen --out NAME` (or czmq's zcert_save)",
      exitCode: ExitCode.usage,
      cause: error,
    });
  }
}
