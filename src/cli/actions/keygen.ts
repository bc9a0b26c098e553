import { saveCurveCert } from "../../transport/curve-cert-file.ts";
import { curveKeyPair } from "../../zmtp/mechanism/curve/box.ts";
import { CurveCertError } from "../../zmtp/errors.ts";
import { encodeZ85 } from "../../zmtp/z85.ts";
import type { KeygenFlags } from "../commands/keygen.ts";
import type { CommandContext } from "../context.ts";
import { CliError, ExitCode } from "../errors.ts";

/**
 * `malamute keygen`: without --out, print `public-key: …` and `secret-key: …` (Z85, one a
 * line); with it, save the pair as `zcert` files and print the public key and the file names.
 *
 * @example
 * ```ts
 * context.exitCode = await runKeygen({ out: "keys/broker" }, context);
 * ```
 */
export async function runKeygen(flags: KeygenFlags, context: CommandContext): Promise<number> {
  const pair = curveKeyPair();
  const publicText = encodeZ85(pair.publicKey);
  if (flags.out === undefined) {
    if (flags.name !== undefined) {
      throw new CliError("CLI_USAGE", "--name is written into certificate files: it needs --out", { exitCode: ExitCode.usage });
    }
    context.io.stdout(`public-key: ${publicText}\nsecret-key: ${encodeZ85(pair.secretKey)}\n`);
    return ExitCode.ok;
  }
  try {
    await saveCurveCert(flags.out, { ...pair, metadata: flags.name !== undefined ? { name: flags.name } : {} });
  } catch (error) {
    if (!(error instanceof CurveCertError)) throw error;
    throw new CliError("CLI_CURVE", error.message, {
      hint: error.code === "CURVE_CERT_EXISTS" ? "choose another --out name, or move the old key files away first" : undefined,
      exitCode: error.code === "CURVE_CERT_EXISTS" || error.code === "CURVE_CERT_BAD_METADATA" ? ExitCode.usage : ExitCode.failure,
      cause: error,
    });
  }
  context.io.stdout(`public-key: ${publicText}\nwrote ${flags.out} (public) and ${flags.out}_secret (secret, mode 0600)\n`);
  return ExitCode.ok;
}
