/**
 * Plan templates: how the supervisor turns a `campaign.launch` goal into tasks.
 * Each step names its intent, the steps it waits for, how to build its inputs from
 * the goal and earlier outputs, and the success criteria its result is reviewed
 * against. Steps whose dependencies are done run in parallel.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CriterionSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { LaunchCampaignInputs } from "./intent.js";

/** Outputs of finished steps, by step key. */
export type StepOutputs = Readonly<Record<string, Record<string, unknown>>>;

/** One step of a plan. */
export interface PlanStep {
  readonly key: string;
  readonly intent: string;
  readonly after: readonly string[];
  /** False when the goal does not call for this step. */
  readonly applies: (goal: LaunchCampaignInputs) => boolean;
  readonly inputs: (goal: LaunchCampaignInputs, done: StepOutputs) => Record<string, unknown>;
  readonly criteria: MessageInitShape<typeof CriterionSchema>[];
  readonly minConfidence: number;
}

/** A named plan. */
export interface PlanTemplate {
  readonly name: string;
  readonly steps: readonly PlanStep[];
}

/** Default segmentation when the goal gives leads but no rules: by company size. */
export const defaultSegmentRules = [
  { segment: "enterprise", when: [{ field: "employees", op: "gte", value: 1000 }] },
  { segment: "mid-market", when: [{ field: "employees", op: "gte", value: 100 }] },
  { segment: "small-business", when: [{ field: "employees", op: "lt", value: 100 }] },
];

/** The product-launch plan: draft copy (with a summary of the documents) and segment leads in parallel, then publish the reviewed copy. */
export const productLaunchPlan: PlanTemplate = {
  name: "product-launch",
  steps: [
    {
      key: "draft",
      intent: "copy.draft",
      after: [],
      applies: () => true,
      inputs: (g) => ({
        brief: { product: g.product, audience: g.audience, tone: g.tone, channel: g.channel, keyMessages: g.keyMessages, callToAction: g.callToAction },
        ...(g.documents === undefined || g.documents.length === 0 ? {} : { documents: g.documents }),
      }),
      criteria: [{
        description: "the copy has a headline and a body of at least 40 characters",
        outputsSchema: { type: "object", required: ["headline", "body"], properties: { headline: { type: "string", minLength: 5 }, body: { type: "string", minLength: 40 } } },
      }],
      minConfidence: 0.6,
    },
    {
      key: "segment",
      intent: "leads.segment",
      after: [],
      applies: (g) => g.leadsCsv !== undefined,
      inputs: (g) => ({ csv: g.leadsCsv, rules: g.segmentRules ?? defaultSegmentRules }),
      criteria: [{
        description: "every lead was segmented and none was rejected",
        outputsSchema: { type: "object", required: ["segments", "rejectedRows"], properties: { segments: { type: "array", minItems: 1 }, rejectedRows: { type: "array", maxItems: 0 } } },
      }],
      minConfidence: 0.5,
    },
    {
      key: "publish",
      intent: "content.publish",
      after: ["draft"],
      applies: (g) => g.publish === true,
      inputs: (g, done) => ({ channel: g.channel, title: String(done.draft?.headline), body: `${String(done.draft?.body)}\n\n${String(done.draft?.callToAction)}` }),
      criteria: [{
        description: "the content is in the outbox with a verified digest",
        outputsSchema: { type: "object", required: ["digest"], properties: { digest: { type: "string", pattern: "^sha256:[0-9a-f]{64}$" } } },
      }],
      minConfidence: 1,
    },
  ],
};
