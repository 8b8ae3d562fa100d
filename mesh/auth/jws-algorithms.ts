/**
 * The JWS algorithms the mesh signs and verifies with node:crypto (jws-sign.ts,
 * jws-verify.ts): EdDSA and ECDSA, the kinds of key the mesh's key files hold.
 * Others go through jose.
 */
import { KeyObject } from "node:crypto";
import type { SignKeyObjectInput, webcrypto } from "node:crypto";

/** How node:crypto signs or verifies one JWS `alg`, and the key it needs. */
export interface JwsAlgorithm {
  /** The digest for `crypto.sign`/`verify`; null for EdDSA. */
  readonly digest: string | null;
  /** JWS form of an ECDSA signature: raw r||s. */
  readonly dsaEncoding?: "ieee-p1363";
  /** `KeyObject.asymmetricKeyType` values the algorithm takes. */
  readonly keyTypes: readonly string[];
  /** `asymmetricKeyDetails.namedCurve` for ECDSA. */
  readonly curve?: string;
}

/** The algorithms, by JWS `alg`. */
export const jwsAlgorithms: Readonly<Record<string, JwsAlgorithm | undefined>> = {
  EdDSA: { digest: null, keyTypes: ["ed25519", "ed448"] },
  ES256: { digest: "sha256", dsaEncoding: "ieee-p1363", keyTypes: ["ec"], curve: "prime256v1" },
  ES384: { digest: "sha384", dsaEncoding: "ieee-p1363", keyTypes: ["ec"], curve: "secp384r1" },
  ES512: { digest: "sha512", dsaEncoding: "ieee-p1363", keyTypes: ["ec"], curve: "secp521r1" },
};

/** Each key's node:crypto form, made once. */
const keyObjects = new WeakMap<object, KeyObject>();

/**
 * `key` (a CryptoKey or KeyObject) as a KeyObject of `type` fit for `alg`, or
 * undefined when it is anything else (a secret, a JWK, another curve).
 */
export function jwsKeyObject(key: unknown, alg: JwsAlgorithm, type: "private" | "public"): KeyObject | undefined {
  let keyObject: KeyObject | undefined;
  if (key instanceof KeyObject) {
    keyObject = key;
  } else if (typeof key === "object" && key !== null && "algorithm" in key && "type" in key) {
    // A WebCrypto CryptoKey (what jose's key loaders return).
    keyObject = keyObjects.get(key);
    if (keyObject === undefined) {
      try {
        keyObject = KeyObject.from(key as webcrypto.CryptoKey);
      } catch {
        return undefined;
      }
      keyObjects.set(key, keyObject);
    }
  }
  if (keyObject?.type !== type || !alg.keyTypes.includes(keyObject.asymmetricKeyType ?? "")) return undefined;
  if (alg.curve !== undefined && keyObject.asymmetricKeyDetails?.namedCurve !== alg.curve) return undefined;
  return keyObject;
}

/** The key argument of `crypto.sign`/`verify` for `alg`. */
export function cryptoKeyInput(keyObject: KeyObject, alg: JwsAlgorithm): KeyObject | SignKeyObjectInput {
  return alg.dsaEncoding === undefined ? keyObject : { key: keyObject, dsaEncoding: alg.dsaEncoding };
}
