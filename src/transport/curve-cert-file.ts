/**
 * CURVE certificate files (czmq `zcert` format) on disk: the I/O half of src/zmtp/mechanism/curve/cert.ts.
 *
 * @example
 * ```ts
 * await saveCurveCert("keys/broker", curveKeyPair());        // keys/broker + keys/broker_secret (0600)
 * const { publicKey, secretKey } = await loadCurveKeyPair("keys/broker");
 * const serverKey = await resolveCurveKey("keys/broker");    // or a 40-character Z85 key
 * ```
 * @module
 */
import { chmod, open, writeFile } from "node:fs/promises";
import { type CurveCert, formatCurveCert, keyFromZ85, parseCurveCert } from "../zmtp/mechanism/curve/cert.ts";
import { CurveCertError } from "../zmtp/errors.ts";
import { Z85Error } from "../zmtp/errors.ts";

/**
 * Largest certificate file read, in bytes. A `zcert` file is about 400 bytes; the bound keeps a
 * mistaken path (a log, a device) from being read into memory. Beyond it: CurveCertError
 * `CURVE_CERT_TOO_LARGE`.
 */
export const MAX_CERT_FILE_BYTES = 64 * 1024;

/** A key pair read from a secret certificate. */
export interface CurveKeyPairCert extends CurveCert {
  secretKey: Uint8Array;
}

/**
 * Read one certificate file (public or secret).
 *
 * @throws CurveCertError `CURVE_CERT_READ`, `CURVE_CERT_TOO_LARGE` or any of {@link parseCurveCert}'s.
 * @example
 * ```ts
 * const { publicKey, metadata } = await loadCurveCert("keys/worker-1");
 * ```
 */
export async function loadCurveCert(path: string, options: { maxBytes?: number } = {}): Promise<CurveCert> {
  const maxBytes = options.maxBytes ?? MAX_CERT_FILE_BYTES;
  let text: string;
  try {
    const handle = await open(path, "r");
    try {
      // One byte more than allowed tells "exactly at the bound" from "beyond it".
      const buffer = new Uint8Array(maxBytes + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > maxBytes) {
        throw new CurveCertError("CURVE_CERT_TOO_LARGE", `${path} is larger than ${maxBytes} bytes: not a certificate`);
      }
      text = new TextDecoder().decode(buffer.subarray(0, length));
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof CurveCertError) throw error;
    throw new CurveCertError("CURVE_CERT_READ", `cannot read certificate ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parseCurveCert(text);
  } catch (error) {
    if (error instanceof CurveCertError) throw new CurveCertError(error.code, `${path}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * Read a key pair: from `path` if it is a secret certificate, else from `path + "_secret"`
 * (so both `keys/broker` and `keys/broker_secret` name the pair `zcert_save` wrote).
 *
 * @throws CurveCertError `CURVE_CERT_NO_SECRET` when neither file holds a secret key.
 * @example
 * ```ts
 * const broker = await startBroker({ curve: await loadCurveKeyPair("keys/broker") });
 * ```
 */
export async function loadCurveKeyPair(path: string): Promise<CurveKeyPairCert> {
  const cert = await loadCurveCert(path);
  if (cert.secretKey) return cert as CurveKeyPairCert;
  let secret: CurveCert;
  try {
    secret = await loadCurveCert(`${path}_secret`);
  } catch (error) {
    if (error instanceof CurveCertError && error.code === "CURVE_CERT_READ") {
      throw new CurveCertError("CURVE_CERT_NO_SECRET", `${path} holds no secret-key, and ${path}_secret cannot be read`, { cause: error });
    }
    throw error;
  }
  if (!secret.secretKey) throw new CurveCertError("CURVE_CERT_NO_SECRET", `neither ${path} nor ${path}_secret holds a secret-key`);
  return secret as CurveKeyPairCert;
}

/**
 * A public key given as 40 Z85 characters, or else as the path of a certificate file (its
 * `curve/public-key`): what `--curve-server-key KEY|FILE` takes.
 *
 * @throws CurveCertError when it is neither.
 * @example
 * ```ts
 * const serverKey = await resolveCurveKey(process.env.BROKER_KEY ?? "keys/broker");
 * ```
 */
export async function resolveCurveKey(keyOrFile: string): Promise<Uint8Array> {
  if (keyOrFile.length === 40) {
    try {
      return keyFromZ85(keyOrFile);
    } catch (error) {
      // Not Z85: perhaps a 40-character path; the file read below says which it was.
      if (!(error instanceof CurveCertError && error.cause instanceof Z85Error)) throw error;
    }
  }
  return (await loadCurveCert(keyOrFile)).publicKey;
}

/**
 * Write a key pair as `zcert_save` does: `name` (public, mode 0644) and `name_secret` (both
 * keys, mode 0600). Existing files are never overwritten: a lost secret key cannot be recovered.
 *
 * @throws CurveCertError `CURVE_CERT_EXISTS` or `CURVE_CERT_READ` (cannot write).
 * @example
 * ```ts
 * await saveCurveCert("keys/worker-1", { ...curveKeyPair(), metadata: { name: "worker-1" } });
 * ```
 */
export async function saveCurveCert(
  name: string,
  cert: { publicKey: Uint8Array; secretKey: Uint8Array; metadata?: Record<string, string> },
  now: Date = new Date(),
): Promise<void> {
  const files = formatCurveCert(cert, now);
  // The secret first: if it cannot be written there is no public file without its pair.
  await writeNew(`${name}_secret`, files.secret, 0o600);
  await writeNew(name, files.public, 0o644);
}

async function writeNew(path: string, text: string, mode: number): Promise<void> {
  try {
    await writeFile(path, text, { flag: "wx", mode });
    // The umask may have taken bits away from `mode`, never added: chmod makes it exact.
    await chmod(path, mode);
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") {
      throw new CurveCertError("CURVE_CERT_EXISTS", `${path} exists; not overwriting a key file`, { cause: error });
    }
    throw new CurveCertError("CURVE_CERT_READ", `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
