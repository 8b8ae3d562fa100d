/**
 * Test-side access to the pinned tools the Vitest global setup installed
 * (tools/vitest-global-setup.ts). Test code only: it imports vitest.
 */
import { inject } from "vitest";

/** What the global setup found for one tool: its path, or why it cannot be had. */
export type ToolStatus = { path: string; error?: undefined } | { path?: undefined; error: string };

declare module "vitest" {
  export interface ProvidedContext {
    /** Pinned tools by name (see tools/vitest-global-setup.ts). */
    agentmeshTools: Record<string, ToolStatus>;
  }
}

/**
 * The path of a pinned tool (`opa`, ...) for a test. Throws, failing the test,
 * with the install script's message (e.g. how to get Go) when the tool could not
 * be had, or when the global setup did not run.
 */
export function testToolPath(name: string): string {
  const status = inject("agentmeshTools")?.[name];
  if (status === undefined) {
    throw new Error(`${name} was not installed by the global setup (tools/vitest-global-setup.ts); is tools/${name}/go.mod there?`);
  }
  if (status.error !== undefined) throw new Error(status.error);
  return status.path;
}
