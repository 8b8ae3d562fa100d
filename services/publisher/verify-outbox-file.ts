// The `outbox.verify` tool.
import { readFile } from "node:fs/promises";
import { PublishVerificationError } from "./publish-verification-error.js";
import { sha256Digest } from "./sha256-digest.js";

/** What a read-back found. */
export interface OutboxVerification {
  digest: string;
  bytes: number;
}

/**
 * Reads an outbox file back and checks its SHA-256 digest.
 *
 * @throws PublishVerificationError when the digest differs from `expectedDigest`.
 * @throws the filesystem's error (e.g. ENOENT) when the file cannot be read.
 */
export async function verifyOutboxFile(path: string, expectedDigest: string): Promise<OutboxVerification> {
  const data = await readFile(path);
  const digest = sha256Digest(data);
  if (digest !== expectedDigest) throw new PublishVerificationError(path, expectedDigest, digest);
  return { digest, bytes: data.length };
}
