/**
 * The copywriter agent: offers `copy.draft`. Given background documents and no
 * context, it first delegates `docs.summarize` through the gateway and writes the
 * summary into the copy.
 */
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import { draftCopy, draftCopyDescription, draftCopyInputSchema, draftCopyIntent, draftCopyOutputSchema } from "./index.js";
import type { DraftCopyInputs, DraftCopyOutputs } from "./index.js";

/** Inputs of the agent's `copy.draft`: the tool's inputs plus optional documents to summarise. */
export type CopywriterInputs = DraftCopyInputs & { documents?: { title: string; text: string }[] };

const inputSchema: Record<string, unknown> = {
  ...draftCopyInputSchema,
  properties: {
    ...(draftCopyInputSchema.properties as Record<string, unknown>),
    documents: {
      type: "array",
      maxItems: 20,
      items: { type: "object", additionalProperties: false, required: ["title", "text"], properties: { title: { type: "string", minLength: 1, maxLength: 200 }, text: { type: "string", minLength: 1, maxLength: 50_000 } } },
    },
  },
};

/** The `copy.draft` intent. */
export const draftCopyDefinition = defineIntent<CopywriterInputs, DraftCopyOutputs>({
  name: draftCopyIntent,
  description: `${draftCopyDescription} Background documents are summarised by a delegate first.`,
  inputSchema,
  outputSchema: draftCopyOutputSchema,
  tools: ["template.render", "text.check-length"],
  requiredScopes: ["copy:write"],
  async handle(inputs, ctx) {
    const { documents, ...draftInputs } = inputs;
    let note = "";
    if (documents !== undefined && documents.length > 0 && draftInputs.context === undefined) {
      const summary = await ctx.delegate({ key: "summary", intent: "docs.summarize", inputs: { documents, maxSentences: 2 }, successCriteria: { minConfidence: 0.3 } });
      if (summary.state === TaskState.COMPLETED && typeof summary.outputs?.summary === "string") {
        draftInputs.context = summary.outputs.summary.slice(0, 4000);
        note = ` The context is a summary of ${documents.length} document(s) by ${summary.agent} (task ${summary.taskId}).`;
      } else {
        note = ` The documents could not be summarised (${summary.error?.message ?? TaskState[summary.state]}), so the copy has no context.`;
      }
    }
    const outcome = draftCopy(draftInputs, ctx.tool);
    return { ...outcome, rationale: outcome.rationale + note };
  },
});

/** Starts the copywriter. */
export function startCopywriter(config: ServiceConfig): Promise<RunningAgent> {
  return startAgent({
    name: "copywriter",
    description: "Drafts marketing copy from a brief with channel and tone templates.",
    version: "0.1.0",
    role: "worker",
    intents: [draftCopyDefinition as never],
    tools: [tool("template.render", "Fills a channel and tone template."), tool("text.check-length", "Checks copy against its length limit.")],
    scopes: ["copy:write", "tool:template.render", "tool:text.check-length", "delegate:docs.summarize"],
    config,
  });
}
