/**
 * The copywriter agent: offers `copy.draft`. Given background documents and no
 * context, it first delegates `docs.summarize` through the gateway, handing the
 * documents over as an artifact (a signed link scoped to its task), and writes
 * the summary into the copy. For the campaign-launch saga it also offers
 * `campaign.draft` (copy kept on record as a campaign draft) and its compensation
 * `campaign.withdraw`.
 */
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import { withDomainErrors } from "../shared/domain-error.js";
import { openEffectLedger } from "../shared/effect-ledger.js";
import type { EffectLedger } from "../shared/effect-ledger.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import { draftCopy, draftCopyDescription, draftCopyInputSchema, draftCopyIntent, draftCopyOutputSchema } from "./index.js";
import type { DraftCopyInputs, DraftCopyOutputs } from "./index.js";
import { draftCampaign, withdrawCampaign } from "./campaign-drafts.js";
import {
  draftCampaignInputSchema, draftCampaignIntent, draftCampaignOutputSchema, withdrawCampaignInputSchema, withdrawCampaignIntent, withdrawCampaignOutputSchema,
} from "./campaign-intent.js";
import type { DraftCampaignInputs, DraftCampaignOutputs, WithdrawCampaignInputs, WithdrawCampaignOutputs } from "./campaign-intent.js";
import { DraftNotFoundError } from "./draft-not-found-error.js";

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
      // The documents travel by signed link, not inline: the summarizer reads them through the gateway's artifact endpoint.
      const docs = await ctx.putArtifact(JSON.stringify({ documents }), { mediaType: "application/json", name: "documents.json" });
      const summary = await ctx.delegate({ key: "summary", intent: "docs.summarize", inputs: { maxSentences: 2 }, artifacts: [docs], successCriteria: { minConfidence: 0.3 } });
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

/** The `campaign.draft` intent, keeping drafts in `drafts`. */
export function draftCampaignDefinition(drafts: EffectLedger) {
  return defineIntent<DraftCampaignInputs, DraftCampaignOutputs>({
    name: draftCampaignIntent,
    description: "Drafts a campaign's copy from its brief and keeps the draft on record with its budget reservation, once per task id.",
    inputSchema: draftCampaignInputSchema,
    outputSchema: draftCampaignOutputSchema,
    tools: ["template.render", "text.check-length", "drafts.write"],
    requiredScopes: ["campaign:draft"],
    handle: (inputs, ctx) => draftCampaign(inputs, ctx.taskId, drafts, ctx.tool),
  });
}

/** The `campaign.withdraw` intent over `drafts`. */
export function withdrawCampaignDefinition(drafts: EffectLedger) {
  return defineIntent<WithdrawCampaignInputs, WithdrawCampaignOutputs>({
    name: withdrawCampaignIntent,
    description: "Withdraws a campaign draft, once (the compensation of campaign.draft).",
    inputSchema: withdrawCampaignInputSchema,
    outputSchema: withdrawCampaignOutputSchema,
    tools: ["drafts.write"],
    requiredScopes: ["campaign:withdraw"],
    handle: (inputs, ctx) => withDomainErrors(() => withdrawCampaign(inputs.draftId, ctx.taskId, drafts, ctx.tool), [[DraftNotFoundError, Code.NotFound, "draft_not_found"]]),
  });
}

/** Starts the copywriter; campaign drafts are kept in `<data dir>/drafts`. */
export function startCopywriter(config: ServiceConfig): Promise<RunningAgent> {
  const drafts = openEffectLedger(join(config.dataDir, "drafts"));
  return startAgent({
    name: "copywriter",
    description: "Drafts marketing copy from a brief with channel and tone templates.",
    version: "0.1.0",
    role: "worker",
    intents: [draftCopyDefinition as never, draftCampaignDefinition(drafts) as never, withdrawCampaignDefinition(drafts) as never],
    tools: [
      tool("template.render", "Fills a channel and tone template."), tool("text.check-length", "Checks copy against its length limit."),
      tool("drafts.write", "Records a campaign draft or its withdrawal, once per key."),
    ],
    scopes: ["copy:write", "campaign:draft", "campaign:withdraw", "tool:template.render", "tool:text.check-length", "tool:drafts.write", "delegate:docs.summarize"],
    config,
  });
}
