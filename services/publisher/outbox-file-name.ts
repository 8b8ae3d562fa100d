import { sha256Digest } from "./sha256-digest.js";

/** Longest readable part of an outbox file name, before the hash suffix and extension. */
const MAX_STEM = 100;

/**
 * Names the outbox file of a task: `<task id>.json` when the id is made only of
 * letters, digits, ".", "_" and "-", does not start with "." and is at most 100
 * characters. Otherwise every other character becomes "_", a leading "." becomes
 * "_", the result is cut to 100 characters and the first 16 hex digits of the id's
 * SHA-256 are appended, so distinct ids never share a file ("a/b" and "a_b" differ)
 * and no id can name a path outside the outbox.
 */
export function outboxFileName(taskId: string): string {
  if (/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/u.test(taskId) && taskId.length <= MAX_STEM) return `${taskId}.json`;
  const safe = taskId.replace(/[^A-Za-z0-9._-]/gu, "_").replace(/^\./u, "_").slice(0, MAX_STEM);
  const suffix = sha256Digest(taskId).slice("sha256:".length, "sha256:".length + 16);
  return `${safe}-${suffix}.json`;
}
