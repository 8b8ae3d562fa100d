/**
 * Signing and verification keys for bearer tokens. Services verify with a JWKS of
 * public keys; a service (or the CLI) signs its own tokens with a private JWK. In
 * development `ensureDevKeys` makes one ES256 (P-256) key pair in a local folder;
 * in a cluster both files come from Secrets.
 *
 * Why ES256 and not EdDSA (Ed25519): a forwarded Delegate costs one signature at
 * the gateway and one verification at the agent, and with the OpenSSL in Node 20
 * on x86-64 P-256 is the faster of the two: on the benchmark machine 35 µs to
 * sign and 79 µs to verify, against 44 and 123 µs for Ed25519 (node:crypto, one
 * thread; bench/suite/findings.md). Both stay accepted (jws-algorithms.ts), so
 * existing Ed25519 keys keep working.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK } from "jose";
import type { CryptoKey, JSONWebKeySet, JWK, JWTVerifyGetKey } from "jose";

/** The algorithm of the keys `ensureDevKeys` and the deploy keys (deploy/deploy-keys.ts) are made with. */
export const devKeyAlgorithm = "ES256";

/** A new extractable key pair of `devKeyAlgorithm`. */
export function generateDevKeyPair(): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  return generateKeyPair(devKeyAlgorithm, { extractable: true });
}

/** A private key ready to sign, with the key id verifiers look it up by. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly key: CryptoKey | Uint8Array;
}

/** Paths of a key pair on disk. */
export interface KeyPaths {
  /** Private JWK (JSON) with `kid` and `alg`. */
  readonly signingKeyPath: string;
  /** JWKS (JSON) of the public keys that verify tokens. */
  readonly jwksPath: string;
}

/**
 * Makes the development key pair in `dir` unless it already exists, and returns
 * its paths. The private key file is readable by its owner only.
 */
export async function ensureDevKeys(dir: string): Promise<KeyPaths> {
  const paths = { signingKeyPath: join(dir, "signing-key.jwk.json"), jwksPath: join(dir, "jwks.json") };
  try {
    await readFile(paths.signingKeyPath);
    await readFile(paths.jwksPath);
    return paths;
  } catch {
    // Fall through: make a new pair.
  }
  await mkdir(dir, { recursive: true });
  const { privateKey, publicKey } = await generateDevKeyPair();
  const kid = `dev-${new Date().toISOString().slice(0, 10)}-${Math.random().toString(36).slice(2, 8)}`;
  const priv = { ...(await exportJWK(privateKey)), kid, alg: devKeyAlgorithm, use: "sig" };
  const pub = { ...(await exportJWK(publicKey)), kid, alg: devKeyAlgorithm, use: "sig" };
  await writeFile(paths.signingKeyPath, JSON.stringify(priv, null, 2) + "\n", { mode: 0o600 });
  await chmod(paths.signingKeyPath, 0o600);
  await writeFile(paths.jwksPath, JSON.stringify({ keys: [pub] }, null, 2) + "\n");
  return paths;
}

/**
 * Loads a private JWK file. Throws when the file is missing, is not a private key,
 * or lacks `kid` or `alg`.
 */
export async function loadSigningKey(path: string): Promise<SigningKey> {
  const jwk = JSON.parse(await readFile(path, "utf8")) as JWK;
  if (typeof jwk.kid !== "string" || typeof jwk.alg !== "string" || jwk.d === undefined) {
    throw new Error(`${path}: a signing key must be a private JWK with "kid" and "alg"`);
  }
  return { kid: jwk.kid, alg: jwk.alg, key: await importJWK(jwk, jwk.alg) };
}

/** Loads a JWKS file into the key lookup the verifier uses. */
export async function loadVerificationKeys(path: string): Promise<JWTVerifyGetKey> {
  const jwks = JSON.parse(await readFile(path, "utf8")) as JSONWebKeySet;
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) {
    throw new Error(`${path}: a JWKS with at least one key is required`);
  }
  return createLocalJWKSet(jwks);
}
