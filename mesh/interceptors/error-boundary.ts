/**
 * The outermost step: whatever a later step or handler throws leaves as a
 * `ConnectError`. Unknown failures become INTERNAL with a generic message; their
 * cause goes to the log, never to the caller.
 */
import { Code } from "@connectrpc/connect";
import type { MeshInterceptor } from "../call.js";
import { toConnectError } from "../errors.js";
import type { Logger } from "../logger.js";

/** Creates the error boundary; `logger` receives internal failures with their cause. */
export function createErrorBoundaryInterceptor(logger: Logger): MeshInterceptor {
  return (next) => async (call) => {
    try {
      return await next(call);
    } catch (err) {
      const ce = toConnectError(err);
      if (ce.code === Code.Internal) {
        logger.error(`${call.method.name} failed`, { cause: String(ce.cause ?? err), stack: (ce.cause as Error | undefined)?.stack });
      }
      throw ce;
    }
  };
}
