/**
 * Public keys of czmq `zcert` files (pure: text in, key out). A zcert public file is ZPL:
 *
 * ```
 * metadata
 * curve
 *     public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
 * ```
 *
 * (`zcert_save` writes that as `name`, and `name_secret` with a `secret-key` as well; both
 * name the same public key.)
 *
 * @example
 * ```ts
 * zcertPublicKey('curve\n    public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"\n'); // the Z85 key
 * ```
 * @module
 */
import { decodeZ85 } from "../../zmtp/z85.ts";
import { parseZpl, zplValue } from "../zpl.ts";

/** The Z85 `curve/public-key` of a zcert file's text, or undefined when it has none or it is not a 32-byte key. */
export function zcertPublicKey(text: string): string | undefined {
  let key: string | undefined;
  try {
    key = zplValue(parseZpl(text), "curve/public-key");
  } catch {
    return undefined;
  }
  if (key === undefined || key.length !== 40) return undefined;
  try {
    decodeZ85(key);
  } catch {
    return undefined;
  }
  return key;
}
