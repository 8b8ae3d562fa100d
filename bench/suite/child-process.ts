/**
 * Benchmark processes: a TypeScript file forked under tsx that reports once it
 * is ready (its first IPC message) and is stopped with a "stop" message. The
 * servers under test and the load generators each run in such a child, so the
 * CPU of each is measured on its own (proc-cpu.ts).
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A running child and what it said when it was ready. */
export interface ReadyChild<R> {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: R;
  /**
   * Sends "stop", waits for the exit (SIGKILL after `graceMs`, default 10 s) and
   * returns the last message the child sent after "stop" (undefined if none).
   */
  stop(graceMs?: number): Promise<unknown>;
}

/** Options of `forkReady`. */
export interface ForkOptions {
  readonly args?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Node options besides `--import tsx`, e.g. `--cpu-prof`. */
  readonly execArgv?: readonly string[];
  /** How long the child may take to be ready; default 60 s (tsx compiles on first load). */
  readonly timeoutMs?: number;
}

/** Forks `module` (a file URL) and waits for its first message; rejects if it exits or stalls first. */
export function forkReady<R>(module: string | URL, o: ForkOptions = {}): Promise<ReadyChild<R>> {
  const child = fork(fileURLToPath(module), [...(o.args ?? [])], {
    execArgv: ["--import", "tsx", ...(o.execArgv ?? [])],
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const timeoutMs = o.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${String(module)} did not start in ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const early = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${String(module)} exited before it was ready (${code})`));
    };
    child.once("exit", early);
    child.once("message", (ready) => {
      clearTimeout(timer);
      child.off("exit", early);
      resolve({
        child,
        pid: child.pid!,
        ready: ready as R,
        stop: (graceMs = 10_000) => new Promise<unknown>((done) => {
          let last: unknown;
          if (child.exitCode !== null || child.signalCode !== null) return done(last);
          const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
          child.on("message", (m) => {
            last = m;
          });
          child.once("exit", () => {
            clearTimeout(kill);
            done(last);
          });
          child.send("stop");
        }),
      });
    });
  });
}

/**
 * Sends `request` to a child that answers each request with one message
 * `{ ok: true, value }` or `{ ok: false, error }`; resolves with the value.
 */
export function ask<T>(child: ChildProcess, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the child exited (${code}) before it answered`));
    child.once("exit", onExit);
    child.once("message", (m) => {
      child.off("exit", onExit);
      const answer = m as { ok: true; value: T } | { ok: false; error: string };
      if (answer.ok) resolve(answer.value);
      else reject(new Error(answer.error));
    });
    child.send(request as object);
  });
}
