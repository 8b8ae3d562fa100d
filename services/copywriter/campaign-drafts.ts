/**
 * Campaign drafts on record: the copy of a campaign, drafted from its brief with
 * the copywriter's templates and kept in an effect ledger (`drafts.write`), once
 * per task id; a withdrawal is an effect of its own, once per draft.
 */
import type { ToolRunner } from "../../mesh/index.js";
import type { EffectLedger } from "../shared/effect-ledger.js";
import type { WorkOutcome } from "../shared/tool-result.js";
import type { DraftCampaignInputs, DraftCampaignOutputs, WithdrawCampaignOutputs } from "./campaign-intent.js";
import { DraftNotFoundError } from "./draft-not-found-error.js";
import { draftCopy } from "./draft-copy.js";

/**
 * Drafts the campaign of task `taskId` as draft `draft-<task id>`; the same task
 * again finds its draft. Throws what `draftCopy` throws.
 */
export async function draftCampaign(inputs: DraftCampaignInputs, taskId: string, ledger: EffectLedger, tool: ToolRunner): Promise<WorkOutcome<DraftCampaignOutputs>> {
  const copy = draftCopy({ brief: inputs.brief }, tool);
  const draftId = `draft-${taskId}`;
  const { applied, effect } = await tool("drafts.write", () =>
    ledger.apply({ kind: "campaign.drafted", key: draftId, taskId, data: { campaign: inputs.campaign, reservationId: inputs.reservationId, ...copy.outputs } }));
  const outputs: DraftCampaignOutputs = {
    draftId, headline: copy.outputs.headline, body: copy.outputs.body, callToAction: copy.outputs.callToAction, channel: copy.outputs.channel, alreadyDrafted: !applied,
  };
  return {
    outputs,
    rationale: `${applied ? "Drafted" : "Found the draft of"} campaign "${inputs.campaign}" as ${draftId} (spending reservation ${inputs.reservationId}). ${copy.rationale}`,
    evidence: [...copy.evidence, { kind: "draft", description: "Draft on record", excerpt: `${effect.key} at ${effect.at}` }],
    confidence: copy.confidence,
  };
}

/** Withdraws draft `draftId`, once. Throws `DraftNotFoundError`. */
export async function withdrawCampaign(draftId: string, taskId: string, ledger: EffectLedger, tool: ToolRunner): Promise<WorkOutcome<WithdrawCampaignOutputs>> {
  if ((await ledger.get(draftId)) === undefined) throw new DraftNotFoundError(draftId);
  const { applied } = await tool("drafts.write", () => ledger.apply({ kind: "campaign.withdrawn", key: `withdrawal-${draftId}`, taskId, data: { draftId } }));
  return {
    outputs: { draftId, alreadyWithdrawn: !applied },
    rationale: applied ? `Withdrew campaign draft ${draftId}.` : `Campaign draft ${draftId} had been withdrawn before.`,
    evidence: [{ kind: "draft", description: "Withdrawal on record", excerpt: `withdrawal-${draftId}` }],
    confidence: 1,
  };
}
