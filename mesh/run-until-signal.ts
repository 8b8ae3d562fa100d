/**
 * Runs a service process: starts it, and on SIGTERM or SIGINT stops it gracefully
 * (in-flight calls finish, new ones are refused) and exits. A start failure exits
 * with status 1 and the reason on stderr.
 */

/** Starts `start()` and stops what it returned on the first SIGTERM/SIGINT. */
export async function runUntilSignal(name: string, start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  let service: { stop(): Promise<void> };
  try {
    service = await start();
  } catch (err) {
    process.stderr.write(`${name}: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: "info", name, msg: `${signal}: draining` })}\n`);
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`${name}: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
