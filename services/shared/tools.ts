/** Tool declarations of the worker agents, as they appear on agent cards. */
import type { ToolDefinition } from "../../mesh/index.js";

/** Declares a tool that needs the scope of its own name. */
export function tool(name: string, description: string): ToolDefinition {
  return { name, description, scopes: [`tool:${name}`] };
}
