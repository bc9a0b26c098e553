/**
 * CURVE certificates in czmq's `zcert` text format (ZPL), as `zcert_save` writes them: a public
 * file `name` holding `curve/public-key` and a secret file `name_secret` holding both keys, each
 * with a `metadata` section. Pure: text in, text out; src/transport/curve-cert-file.ts does the I/O.
 *
 * @example
 * ```ts
 * const files = formatCurveCert(curveKeyPair(), new Date());
 * parseCurveCert(files.secret).secretKey; // 32 bytes
 * ```
 * @module
 */
import { parseZpl, ZplError, type ZplNode, zplNodes, zplValue } from "../../../util/zpl.ts";
import { curvePublicKey, KEY_SIZE, sameBytes } from "./box.ts";
import { CurveCertError, Z85Error } from "../../errors.ts";
import { decodeZ85, encodeZ85 } from "../../z85.ts";

/** A certificate read from a `zcert` file: the public key, the secret key when it is a secret file, and metadata. */
export interface CurveCert {
  publicKey: Uint8Array;
  /** Present in a secret file (`name_secret`) only. */
  secretKey?: Uint8Array;
  /** `metadata/*` entries, e.g. `{ name: "worker-1" }`. */
  metadata: Record<string, string>;
}

/** The two files `zcert_save` writes for one certificate. */
export interface CurveCertFiles {
  /** Content of `name`: public key and metadata; safe to hand out. */
  public: string;
  /** Content of `name_secret`: both keys; keep private (mode 0600). */
  secret: string;
}

/** Names ZPL accepts (RFC 4), the same as the config parser's. */
const NAME = /^[A-Za-z0-9$\-_@.&+/]+$/;

/**
 * Read a `zcert` file's text (public or secret). Keys are checked: 40 Z85 characters each, and
 * the secret key must belong to the public key.
 *
 * @throws CurveCertError `CURVE_CERT_SYNTAX`, `CURVE_CERT_NO_KEY`, `CURVE_CERT_BAD_KEY` or `CURVE_CERT_MISMATCH`.
 * @example
 * ```ts
 * const { publicKey, secretKey, metadata } = parseCurveCert(text);
 * ```
 */
export function parseCurveCert(text: string): CurveCert {
  let root: ZplNode;
  try {
    root = parseZpl(text);
  } catch (error) {
    if (error instanceof ZplError) throw new CurveCertError("CURVE_CERT_SYNTAX", `not a certificate: ${error.message}`, { cause: error });
    throw error;
  }
  const publicText = zplValue(root, "curve/public-key");
  if (publicText === undefined) throw new CurveCertError("CURVE_CERT_NO_KEY", "no curve/public-key in the certificate");
  const publicKey = keyFromZ85(publicText, "public-key");
  const secretText = zplValue(root, "curve/secret-key");
  const metadata: Record<string, string> = {};
  for (const section of zplNodes(root, "metadata")) for (const node of section.children) metadata[node.name] = node.value;
  if (secretText === undefined) return { publicKey, metadata };
  const secretKey = keyFromZ85(secretText, "secret-key");
  if (!sameBytes(curvePublicKey(secretKey), publicKey)) {
    throw new CurveCertError("CURVE_CERT_MISMATCH", "the certificate's public-key is not the public key of its secret-key");
  }
  return { publicKey, secretKey, metadata };
}

/**
 * A 32-byte CURVE key from its 40-character Z85 text.
 *
 * @throws CurveCertError `CURVE_CERT_BAD_KEY`.
 * @example
 * ```ts
 * keyFromZ85("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // 32 bytes
 * ```
 */
export function keyFromZ85(text: string, what = "key"): Uint8Array {
  if (text.length !== 40) throw new CurveCertError("CURVE_CERT_BAD_KEY", `${what} must be 40 Z85 characters, not ${text.length}`);
  try {
    return decodeZ85(text);
  } catch (error) {
    if (error instanceof Z85Error) throw new CurveCertError("CURVE_CERT_BAD_KEY", `${what} is not Z85: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * The text of both files `zcert_save` writes for a key pair, in its layout (a generated-on
 * comment, the czmq notices, `metadata`, then `curve`, values double-quoted), so czmq, pyzmq's
 * `zmq.auth.load_certificate` and our {@link parseCurveCert} all read them. `generatedAt` goes
 * into the header comment (time is passed in: this module keeps no clock).
 *
 * @throws CurveCertError `CURVE_CERT_BAD_KEY`, `CURVE_CERT_MISMATCH` or `CURVE_CERT_BAD_METADATA`.
 * @example
 * ```ts
 * const { public: pub, secret } = formatCurveCert({ ...curveKeyPair(), metadata: { name: "worker-1" } }, new Date());
 * ```
 */
export function formatCurveCert(
  cert: { publicKey: Uint8Array; secretKey: Uint8Array; metadata?: Record<string, string> },
  generatedAt: Date,
): CurveCertFiles {
  for (const [key, what] of [[cert.publicKey, "publicKey"], [cert.secretKey, "secretKey"]] as const) {
    if (!(key instanceof Uint8Array) || key.length !== KEY_SIZE) {
      throw new CurveCertError("CURVE_CERT_BAD_KEY", `${what} must be ${KEY_SIZE} bytes`);
    }
  }
  if (!sameBytes(curvePublicKey(cert.secretKey), cert.publicKey)) {
    throw new CurveCertError("CURVE_CERT_MISMATCH", "publicKey is not the public key of secretKey");
  }
  let metadata = "metadata\n";
  for (const [name, value] of Object.entries(cert.metadata ?? {})) {
    if (!NAME.test(name) || /["\r\n]/.test(value)) {
      throw new CurveCertError("CURVE_CERT_BAD_METADATA", `metadata ${JSON.stringify(name)} cannot be written as ZPL`);
    }
    metadata += `    ${name} = "${value}"\n`;
  }
  const stamp = `#   ****  Generated on ${timestamp(generatedAt)} by malamute  ****\n`;
  const publicKey = `    public-key = "${encodeZ85(cert.publicKey)}"\n`;
  return {
    public: stamp +
      "#   ZeroMQ CURVE Public Certificate\n" +
      "#   Exchange securely, or use a secure mechanism to verify the contents\n" +
      "#   of this file after exchange. Store public certificates in your home\n" +
      "#   directory, in the .curve subdirectory.\n\n" +
      metadata + "curve\n" + publicKey,
    secret: stamp +
      "#   ZeroMQ CURVE **Secret** Certificate\n" +
      "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n" +
      metadata + "curve\n" + publicKey + `    secret-key = "${encodeZ85(cert.secretKey)}"\n`,
  };
}

/** `YYYY-MM-DD hh:mm:ss` (UTC), czmq's `zclock_timestr` layout. */
function timestamp(at: Date): string {
  return at.toISOString().slice(0, 19).replace("T", " ");
}
