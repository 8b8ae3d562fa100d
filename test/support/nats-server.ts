/**
 * A real nats-server for tests: the pinned binary (tools/nats-server, built by
 * scripts/install-tool.sh) with JetStream on, listening on 127.0.0.1 only, on a
 * free port, its store in a folder of its own. `restart()` brings it back on the
 * same port and store (tests restart it while tasks are queued); `stop()` ends it
 * and removes the store folder when this module created it.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { toolPath } from "../../tools/tool-path.js";
import { freePorts } from "./jaeger.js";

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** JetStream store folder; default: a fresh temporary folder, removed by `stop()`. A given folder is kept. */
  readonly storeDir?: string;
  /** Client port on 127.0.0.1; default: a free one. */
  readonly port?: number;
  /** How long to wait for the server to accept connections; default 20 s. */
  readonly readyTimeoutMs?: number;
}

/** A running nats-server. */
export interface TestNatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** SIGTERM (SIGKILL after 5 s), waits for the exit, removes a temporary store. Safe to call twice. */
  stop(): Promise<void>;
  /** Sends `signal` to the server as it is now (e.g. SIGKILL, to lose it abruptly); `restart()` brings it back. */
  kill(signal: NodeJS.Signals): void;
  /** Stops the server (if it still runs) and starts it again on the same port and store; resolves once it is ready. */
  restart(): Promise<void>;
}

/** The server could not be started or did not become ready; the message carries its log. */
export class NatsServerStartError extends Error {
  override readonly name = "NatsServerStartError";
}

/**
 * Starts the pinned nats-server with JetStream (`-js -sd <store>`) on 127.0.0.1
 * and resolves once it logs that it is ready and accepts a TCP connection.
 * Throws {@link NatsServerStartError} when it exits or is not ready in time, and
 * `ToolUnavailableError` when the binary cannot be had.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<TestNatsServer> {
  const binary = await toolPath("nats-server", { progress: null });
  const ownStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "agentmesh-nats-"));
  const port = options.port ?? (await freePorts(1))[0]!;
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  // One process at a time; replaced by restart().
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir, "-n", `agentmesh-test-${port}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    // Should the test process exit without stop(), the server goes with it.
    const killOnExit = () => proc.kill("SIGKILL");
    process.once("exit", killOnExit);
    proc.once("exit", () => process.removeListener("exit", killOnExit));
    let log = "";
    let ready = false;
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        if (log.length < 20_000) log += line + "\n";
        if (line.includes("Server is ready")) ready = true;
      });
    }
    const spawnError = new Promise<Error>((resolve) => proc.once("error", resolve));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(0).then(() => undefined)]);
      if (failed !== undefined) throw new NatsServerStartError(`could not start ${binary}: ${failed.message}`);
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new NatsServerStartError(`nats-server exited during start-up (${proc.signalCode ?? `code ${proc.exitCode}`}):\n${log}`);
      }
      if (ready && (await accepts(port))) return;
      if (Date.now() > deadline) {
        await terminate(proc, 1_000);
        throw new NatsServerStartError(`nats-server did not become ready on 127.0.0.1:${port}:\n${log}`);
      }
      await sleep(50);
    }
  };

  try {
    await launch();
  } catch (err) {
    if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child !== undefined) await terminate(child, 5_000);
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
    kill(signal) {
      child?.kill(signal);
    },
    async restart() {
      if (stopped) throw new NatsServerStartError("nats-server was stopped; start a new one");
      if (child !== undefined) await terminate(child, 5_000);
      await launch();
    },
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process exited. */
async function terminate(proc: ChildProcess, graceMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** True when something accepts a TCP connection on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
