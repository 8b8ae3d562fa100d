/**
 * Runs the mesh's services as child processes: one per service, each started the
 * way Kubernetes starts it (its own entry point), their log lines prefixed with
 * the service name, and all of them stopped together.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** Repository root (entry points are resolved from here). */
export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** One process to run. */
export interface ProcessSpec {
  readonly name: string;
  /** Entry point relative to the repository root. */
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A running group. */
export interface ProcessGroup {
  readonly children: ReadonlyMap<string, ChildProcess>;
  /** SIGTERM to all, then SIGKILL to what is left after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const colors = [36, 33, 35, 32, 34, 31, 96, 93];

/** Starts every spec; `print` receives each formatted log line. */
export function startProcessGroup(specs: readonly ProcessSpec[], print: (line: string) => void, tty = false): ProcessGroup {
  const children = new Map<string, ChildProcess>();
  const width = Math.max(...specs.map((s) => s.name.length));
  specs.forEach((spec, i) => {
    const child = spawn(process.execPath, ["--import", "tsx", spec.entry], {
      cwd: repoRoot,
      env: { ...process.env, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.set(spec.name, child);
    const label = spec.name.padEnd(width);
    const prefix = tty ? `\u001b[${colors[i % colors.length]}m${label}\u001b[0m │ ` : `${label} │ `;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => print(prefix + formatLogLine(line)));
    }
    child.on("exit", (code, signal) => print(`${prefix}exited (${signal ?? `code ${code}`})`));
  });
  return {
    children,
    async stop(graceMs = 10_000) {
      const alive = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
      const exited = alive.map((c) => new Promise<void>((resolve) => c.once("exit", () => resolve())));
      for (const c of alive) c.kill("SIGTERM");
      const timer = setTimeout(() => {
        for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      }, graceMs);
      await Promise.all(exited);
      clearTimeout(timer);
    },
  };
}

/** Renders a JSON log line as "level message key=value ..."; other lines pass through. */
export function formatLogLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const { time: _time, level, name: _name, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return [String(level).padEnd(5), String(msg), ...rest].join(" ");
  } catch {
    return line;
  }
}
