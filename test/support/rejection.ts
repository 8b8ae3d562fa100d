/** Awaiting calls that must fail. */
import { ConnectError } from "@connectrpc/connect";

/** The ConnectError `call` rejects with; throws when it succeeds or fails with anything else. */
export async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("the call succeeded, but it should have failed");
}

/** The ConnectError `fn` throws; throws when it returns or throws anything else. */
export function thrown(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("it returned, but it should have thrown");
}
