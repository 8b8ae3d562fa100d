import { createHash } from "node:crypto";

/** Digest of bytes (a string is taken as UTF-8) in the form "sha256:<64 lower-case hex>". */
export function sha256Digest(content: string | Uint8Array): string {
  return `sha256:${createHash("sha256").update(content).digest("hex")}`;
}
