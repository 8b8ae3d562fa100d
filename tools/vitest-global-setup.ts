/**
 * Vitest global setup: before any test file runs, make sure every pinned tool
 * (tools/<name>/go.mod) is built, so a fresh clone's `npm test` needs only Node
 * and Go. A cached tool costs a few milliseconds; a first build takes minutes
 * (OPA: about 2 on 2 cores) and prints its progress. A tool that cannot be had
 * does not stop the run: tests that need it fail with the reason, via
 * `testToolPath` (tools/test-tools.ts).
 */
import type { TestProject } from "vitest/node";
import type { ToolStatus } from "./test-tools.js";
import { listTools, toolPath, ToolUnavailableError } from "./tool-path.js";

export default async function setup(project: TestProject): Promise<void> {
  const tools: Record<string, ToolStatus> = {};
  // One at a time: each Go build already uses every core.
  for (const name of listTools()) {
    try {
      tools[name] = { path: await toolPath(name) };
    } catch (err) {
      if (!(err instanceof ToolUnavailableError)) throw err;
      tools[name] = { error: err.message };
      process.stderr.write(`vitest global setup: ${err.message}\n  (tests that need ${name} will fail)\n`);
    }
  }
  project.provide("agentmeshTools", tools);
}
