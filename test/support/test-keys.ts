/** A fresh mesh key pair for unit tests that sign and verify tokens. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWTVerifyGetKey } from "jose";
import { ensureDevKeys, loadSigningKey, loadVerificationKeys } from "../../mesh/auth/keys.js";
import type { SigningKey } from "../../mesh/auth/keys.js";

/** A key pair in a temporary folder of its own. */
export interface TestKeys {
  /** The temporary folder; the pair is in its `keys` subfolder, and a test may put more in it. */
  readonly dir: string;
  readonly paths: { readonly signingKeyPath: string; readonly jwksPath: string };
  readonly key: SigningKey;
  readonly keys: JWTVerifyGetKey;
  /** Deletes the folder. */
  remove(): void;
}

/** Makes a key pair in a new temporary folder named after `prefix`; call `remove` after the test. */
export async function createTestKeys(prefix: string): Promise<TestKeys> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const paths = await ensureDevKeys(join(dir, "keys"));
  return {
    dir, paths,
    key: await loadSigningKey(paths.signingKeyPath),
    keys: await loadVerificationKeys(paths.jwksPath),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A signing key of another key pair, which the mesh does not trust. */
export async function foreignSigningKey(dir: string): Promise<SigningKey> {
  return loadSigningKey((await ensureDevKeys(join(dir, "other"))).signingKeyPath);
}
