import { curvePublicKey, sameBytes } from "../zmtp/mechanism/curve/box.ts";
import { curveReady, loadedCurveBoxes } from "../zmtp/mechanism/curve/sodium.ts";
import type { Mechanism } from "../zmtp/mechanism/types.ts";
import {
  type CurveClientKeys, CurveClientMechanism, curveKey, type CurveServerKeys, CurveServerMechanism,
} from "../zmtp/mechanism/curve/mechanism.ts";
import { NullMechanism } from "../zmtp/mechanism/null.ts";
import { PlainClientMechanism, PlainServerMechanism } from "../zmtp/mechanism/plain.ts";
import type { CurveClientOptions, CurveServerOptions, DealerOptions, RouterOptions } from "./types.ts";

/** A secret key with the public key given for it, checked to belong together. */
function keyPair(publicKey: Uint8Array, secretKey: Uint8Array): void {
  if (!sameBytes(curvePublicKey(secretKey), publicKey)) {
    throw new RangeError("CURVE publicKey is not the public key of secretKey");
  }
}

/**
 * Raw CURVE server keys from transport options (Z85 or bytes), checked once per socket.
 *
 * @throws RangeError for a key of the wrong length or a mismatched pair; Z85Error for bad Z85.
 * @example
 * ```ts
 * const keys = curveServerKeys({ publicKey: "…40 chars…", secretKey: "…40 chars…" });
 * ```
 */
export function curveServerKeys(o: CurveServerOptions): CurveServerKeys {
  const keys = { publicKey: curveKey(o.publicKey, "publicKey"), secretKey: curveKey(o.secretKey, "secretKey") };
  keyPair(keys.publicKey, keys.secretKey);
  return keys;
}

/**
 * Raw CURVE client keys from transport options (Z85 or bytes), checked once per socket.
 *
 * @throws RangeError for a key of the wrong length or a mismatched pair; Z85Error for bad Z85.
 * @example
 * ```ts
 * const keys = curveClientKeys({ serverKey, publicKey, secretKey });
 * ```
 */
export function curveClientKeys(o: CurveClientOptions): CurveClientKeys {
  const keys = {
    serverKey: curveKey(o.serverKey, "serverKey"),
    publicKey: curveKey(o.publicKey, "publicKey"),
    secretKey: curveKey(o.secretKey, "secretKey"),
  };
  keyPair(keys.publicKey, keys.secretKey);
  return keys;
}

/**
 * Makes a fresh server-side mechanism per connection from a ROUTER's options (validated
 * once, here, so a bad key throws from the constructor rather than per connection).
 *
 * @example
 * ```ts
 * const next = serverMechanisms(options);
 * new Session({ socketType: "ROUTER", mechanism: next() }, handler);
 * ```
 */
export function serverMechanisms(o: RouterOptions): () => Mechanism {
  if (o.curve && o.plain) throw new RangeError("a socket takes either curve or plain options, not both");
  if (o.curve) {
    const keys = curveServerKeys(o.curve);
    void curveReady();
    return () => new CurveServerMechanism({ ...keys, boxes: loadedCurveBoxes() });
  }
  if (o.plain) return () => new PlainServerMechanism();
  return () => new NullMechanism();
}

/**
 * Makes a fresh client-side mechanism per connection from a DEALER's options (validated once).
 *
 * @example
 * ```ts
 * const next = clientMechanisms({ curve: { serverKey, publicKey, secretKey } });
 * ```
 */
export function clientMechanisms(o: DealerOptions): () => Mechanism {
  if (o.curve && o.plain) throw new RangeError("a socket takes either curve or plain options, not both");
  if (o.curve) {
    const keys = curveClientKeys(o.curve);
    void curveReady();
    return () => new CurveClientMechanism({ ...keys, boxes: loadedCurveBoxes() });
  }
  const plain = o.plain;
  if (plain) {
    new PlainClientMechanism(plain.username, plain.password); // validate early
    return () => new PlainClientMechanism(plain.username, plain.password);
  }
  return () => new NullMechanism();
}
