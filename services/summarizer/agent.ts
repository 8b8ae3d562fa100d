/** The summarizer agent: offers `docs.summarize`. */
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import { summarize, summarizeDescription, summarizeInputSchema, summarizeIntent, summarizeOutputSchema } from "./index.js";
import type { SummarizeInputs, SummarizeOutputs } from "./index.js";
import { readDocuments } from "./read-documents.js";

/** The `docs.summarize` intent: extractive summary by term-frequency ranking, of inline documents or of the task's artifacts. */
export const summarizeDefinition = defineIntent<SummarizeInputs, SummarizeOutputs>({
  name: summarizeIntent,
  description: summarizeDescription,
  inputSchema: summarizeInputSchema,
  outputSchema: summarizeOutputSchema,
  tools: ["text.split-sentences", "text.rank-sentences"],
  requiredScopes: ["docs:read"],
  handle: async (inputs, ctx) => summarize({ ...inputs, documents: await readDocuments(inputs, ctx) }, ctx.tool),
});

/** Starts the summarizer. */
export function startSummarizer(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "summarizer",
    description: "Summarises documents extractively.",
    version: "0.1.0",
    role: "worker",
    intents: [summarizeDefinition as never],
    tools: [tool("text.split-sentences", "Splits text into sentences."), tool("text.rank-sentences", "Ranks sentences by key-term weight.")],
    scopes: ["docs:read", "tool:text.split-sentences", "tool:text.rank-sentences"],
    config,
  });
}
