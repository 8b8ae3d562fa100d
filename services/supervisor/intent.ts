/**
 * The `campaign.launch` contract: a marketing goal, the material to work from,
 * and whether to publish. The supervisor turns it into a plan of tasks.
 */
import { copyChannels, copyTones } from "../copywriter/index.js";
import type { CopyChannel, CopyTone } from "../copywriter/index.js";
import type { SegmentRule } from "../segmenter/index.js";

/** Name of the supervisor's intent. */
export const launchCampaignIntent = "campaign.launch";

/** Inputs of `campaign.launch`. */
export interface LaunchCampaignInputs {
  /** The goal in a sentence, kept on the result for the record. */
  goal: string;
  product: string;
  audience: string;
  tone: CopyTone;
  channel: CopyChannel;
  keyMessages: string[];
  callToAction: string;
  /** Background documents the copy should draw on (summarised by the copywriter's delegate). */
  documents?: { title: string; text: string }[];
  /** Leads to segment, as CSV with a header row. */
  leadsCsv?: string;
  segmentRules?: SegmentRule[];
  /** Publish the reviewed copy to the outbox; default false. */
  publish?: boolean;
}

/** One planned step and how it ended. */
export interface StepReport {
  key: string;
  intent: string;
  taskId: string;
  agent: string;
  state: string;
  accepted: boolean;
  findings: string[];
  confidence: number;
}

/** Outputs of `campaign.launch`. */
export interface LaunchCampaignOutputs {
  goal: string;
  plan: string;
  steps: StepReport[];
  copy?: { headline: string; body: string; callToAction: string };
  segments?: { name: string; count: number }[];
  published?: { outboxPath: string; digest: string };
}

const docSchema = {
  type: "object",
  additionalProperties: false,
  required: ["title", "text"],
  properties: { title: { type: "string", minLength: 1, maxLength: 200 }, text: { type: "string", minLength: 1, maxLength: 50_000 } },
};

/** JSON Schema of {@link LaunchCampaignInputs}. */
export const launchCampaignInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  additionalProperties: false,
  required: ["goal", "product", "audience", "tone", "channel", "keyMessages", "callToAction"],
  properties: {
    goal: { type: "string", minLength: 1, maxLength: 500 },
    product: { type: "string", minLength: 1, maxLength: 80 },
    audience: { type: "string", minLength: 1, maxLength: 80 },
    tone: { enum: [...copyTones] },
    channel: { enum: [...copyChannels] },
    keyMessages: { type: "array", minItems: 1, maxItems: 5, items: { type: "string", minLength: 1, maxLength: 200 } },
    callToAction: { type: "string", minLength: 1, maxLength: 80 },
    documents: { type: "array", maxItems: 20, items: docSchema },
    leadsCsv: { type: "string", minLength: 1, maxLength: 200_000 },
    segmentRules: { type: "array", maxItems: 50, items: { type: "object" } },
    publish: { type: "boolean" },
  },
};

const stepSchema = {
  type: "object",
  required: ["key", "intent", "taskId", "agent", "state", "accepted", "findings", "confidence"],
  properties: {
    key: { type: "string" }, intent: { type: "string" }, taskId: { type: "string" }, agent: { type: "string" },
    state: { type: "string" }, accepted: { type: "boolean" }, findings: { type: "array", items: { type: "string" } },
    confidence: { type: "number", minimum: 0, maximum: 1 },
  },
};

/** JSON Schema of {@link LaunchCampaignOutputs}. */
export const launchCampaignOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  required: ["goal", "plan", "steps"],
  properties: {
    goal: { type: "string" },
    plan: { type: "string" },
    steps: { type: "array", items: stepSchema },
    copy: { type: "object", required: ["headline", "body", "callToAction"] },
    segments: { type: "array", items: { type: "object", required: ["name", "count"] } },
    published: { type: "object", required: ["outboxPath", "digest"] },
  },
};
