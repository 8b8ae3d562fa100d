import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file sits in tools/). */
export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** scripts/install-tool.sh, which builds and caches the Go-built tools. */
export const installToolScript = fileURLToPath(new URL("../scripts/install-tool.sh", import.meta.url));

/** The pinned tools: every `tools/<name>/` that holds a go.mod, sorted. */
export function listTools(): string[] {
  const dir = join(repoRoot, "tools");
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "go.mod")))
    .map((entry) => entry.name)
    .sort();
}

/**
 * A pinned tool could not be had: not built yet and Go is missing, or its build
 * failed. The message carries install-tool.sh's own explanation (what to install).
 * Retrying does not help until the machine changes.
 */
export class ToolUnavailableError extends Error {
  override readonly name = "ToolUnavailableError";
  readonly nonRetryable = true;

  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly detail: string,
  ) {
    super(`${tool} is not available (scripts/install-tool.sh ${tool} exited ${exitCode ?? "on a signal"}): ${detail}`);
  }
}

/** Options for {@link toolPath}. */
export interface ToolPathOptions {
  /** Where install-tool.sh's progress lines go while it runs; default: this process's stderr. */
  progress?: NodeJS.WritableStream | null;
  /** Extra environment for the script (e.g. AGENTMESH_TOOLS_CACHE); default: none. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Returns the absolute path of a pinned Go-built tool (`opa`, ...), building it
 * into the cache outside the checkout first if it is not there
 * (scripts/install-tool.sh: fast when cached, minutes the first time).
 * Throws {@link ToolUnavailableError} with the script's message when the tool
 * cannot be had (e.g. Go is missing).
 */
export async function toolPath(name: string, options: ToolPathOptions = {}): Promise<string> {
  const progress = options.progress === undefined ? process.stderr : options.progress;
  const child = spawn("bash", [installToolScript, name], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    progress?.write(chunk);
  });
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const path = stdout.trim();
  if (exitCode !== 0 || path === "") {
    const lines = stderr.trim().split("\n");
    throw new ToolUnavailableError(name, exitCode, lines[lines.length - 1]?.replace(/^install-tool: /, "") ?? "");
  }
  return path;
}
