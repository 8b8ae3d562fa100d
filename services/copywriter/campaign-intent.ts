// The `campaign.draft` and `campaign.withdraw` contracts: a campaign's draft is
// its copy (drafted as `copy.draft` does) kept on record with the budget
// reservation it spends, once per task id; withdrawing it is the compensation.
import { draftCopyInputSchema } from "./intent.js";
import type { CopyBrief, CopyChannel } from "./intent.js";

/** Intent that drafts a campaign and keeps the draft on record. */
export const draftCampaignIntent = "campaign.draft";
/** Intent that withdraws a campaign draft (the compensation of `campaign.draft`). */
export const withdrawCampaignIntent = "campaign.withdraw";

/** Inputs of `campaign.draft`. */
export interface DraftCampaignInputs {
  campaign: string;
  /** The budget reservation the campaign spends. */
  reservationId: string;
  brief: CopyBrief;
}

/** Outputs of `campaign.draft`. */
export interface DraftCampaignOutputs {
  draftId: string;
  headline: string;
  body: string;
  callToAction: string;
  channel: CopyChannel;
  /** True when this task had drafted it before (nothing new was drafted). */
  alreadyDrafted: boolean;
}

/** Inputs of `campaign.withdraw`. */
export interface WithdrawCampaignInputs {
  draftId: string;
}

/** Outputs of `campaign.withdraw`. */
export interface WithdrawCampaignOutputs {
  draftId: string;
  /** True when it had been withdrawn before. */
  alreadyWithdrawn: boolean;
}

const draftId = { type: "string", pattern: "^draft-[A-Za-z0-9._-]{1,200}$", maxLength: 206 };
const text = (max: number) => ({ type: "string", minLength: 1, maxLength: max });

/** JSON Schema of {@link DraftCampaignInputs}. */
export const draftCampaignInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "campaign.draft inputs",
  type: "object",
  additionalProperties: false,
  required: ["campaign", "reservationId", "brief"],
  properties: {
    campaign: text(120),
    reservationId: text(204),
    brief: (draftCopyInputSchema.properties as Record<string, unknown>).brief,
  },
};

/** JSON Schema of {@link DraftCampaignOutputs}. */
export const draftCampaignOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "campaign.draft outputs",
  type: "object",
  additionalProperties: false,
  required: ["draftId", "headline", "body", "callToAction", "channel", "alreadyDrafted"],
  properties: { draftId, headline: text(200), body: text(10_000), callToAction: text(200), channel: { type: "string" }, alreadyDrafted: { type: "boolean" } },
};

/** JSON Schema of {@link WithdrawCampaignInputs}. */
export const withdrawCampaignInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "campaign.withdraw inputs",
  type: "object",
  additionalProperties: false,
  required: ["draftId"],
  properties: { draftId },
};

/** JSON Schema of {@link WithdrawCampaignOutputs}. */
export const withdrawCampaignOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "campaign.withdraw outputs",
  type: "object",
  additionalProperties: false,
  required: ["draftId", "alreadyWithdrawn"],
  properties: { draftId, alreadyWithdrawn: { type: "boolean" } },
};
