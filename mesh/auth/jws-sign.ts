/**
 * Compact JWS signing with node:crypto, for the algorithms the mesh's keys use
 * (EdDSA, ES256/384/512): the same token jose's `SignJWT` makes (header and
 * payload as base64url JSON, the signature in JWS form: raw r||s for ECDSA), at
 * about half its CPU. jose signs through WebCrypto, an asynchronous job per
 * token; the gateway signs one hop token per forwarded Delegate, so this is on
 * the hot path. Verification stays with jose (auth/tokens.ts).
 */
import { KeyObject, sign } from "node:crypto";
import type { SignKeyObjectInput } from "node:crypto";
import type { SigningKey } from "./keys.js";

/** node:crypto's digest and options for a JWS `alg`; undefined: not signed here. */
const algorithms: Readonly<Record<string, { digest: string | null; dsaEncoding?: "ieee-p1363" }>> = {
  EdDSA: { digest: null },
  ES256: { digest: "sha256", dsaEncoding: "ieee-p1363" },
  ES384: { digest: "sha384", dsaEncoding: "ieee-p1363" },
  ES512: { digest: "sha512", dsaEncoding: "ieee-p1363" },
};

/** Each key's node:crypto form, made once. */
const keyObjects = new WeakMap<object, KeyObject>();

/** True when `signJws` can sign with `key`: an asymmetric key of an algorithm in the table above. */
export function canSignJws(key: SigningKey): boolean {
  return algorithms[key.alg] !== undefined && !(key.key instanceof Uint8Array) && key.key.type === "private";
}

/**
 * Signs `payload` under the protected header `header` (which must name
 * `key.alg`) and returns the compact JWS. Throws when `canSignJws(key)` is false.
 */
export function signJws(key: SigningKey, header: Readonly<Record<string, unknown>>, payload: Readonly<Record<string, unknown>>): string {
  const alg = algorithms[key.alg];
  if (alg === undefined || key.key instanceof Uint8Array || header.alg !== key.alg) throw new Error(`cannot sign ${key.alg} tokens with node:crypto`);
  let keyObject = keyObjects.get(key.key);
  if (keyObject === undefined) keyObjects.set(key.key, (keyObject = KeyObject.from(key.key)));
  const input = `${base64url(header)}.${base64url(payload)}`;
  const options: SignKeyObjectInput | KeyObject = alg.dsaEncoding === undefined ? keyObject : { key: keyObject, dsaEncoding: alg.dsaEncoding };
  return `${input}.${sign(alg.digest, Buffer.from(input), options).toString("base64url")}`;
}

function base64url(value: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}
