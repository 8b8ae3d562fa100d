/** Turning a worker tool's own error classes into mesh errors with the right code. */
import type { Code } from "@connectrpc/connect";
import { meshError } from "../../mesh/index.js";

/**
 * Runs `work`; an error of one of `mapping`'s classes becomes a `ConnectError`
 * with the mapped code and reason (the task then fails with that typed error).
 * Anything else is rethrown unchanged.
 */
export async function withDomainErrors<T>(work: () => T | Promise<T>, mapping: readonly [new (...args: never[]) => Error, Code, string][]): Promise<T> {
  try {
    return await work();
  } catch (err) {
    for (const [cls, code, reason] of mapping) {
      if (err instanceof cls) throw meshError(code, err.message, { reason });
    }
    throw err;
  }
}
