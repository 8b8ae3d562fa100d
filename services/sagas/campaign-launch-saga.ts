/**
 * The demo saga from the marketing world, `campaign-launch`: reserve the
 * campaign's budget, draft the campaign, book its publication slot. When the
 * booking fails for good (the slot is taken, or an approver denies it), the draft
 * is withdrawn and the budget released, in that order. A step whose outcome is
 * unknown is undone too: its agent names its effect after the task id
 * (`res-`, `draft-`, `sched-<task id>`), so the undo finds it without the
 * step's outputs, and answers NOT_FOUND when the step never took effect.
 */
import { defineSaga } from "../../mesh/index.js";
import type { JsonObject } from "../../mesh/index.js";
import { draftCopyInputSchema } from "../copywriter/index.js";
import { slotKey } from "../publisher/publication-calendar.js";
import { schedulePublishInputSchema } from "../publisher/schedule-intent.js";

/** Input of the campaign-launch saga. */
export interface CampaignLaunchInput extends JsonObject {
  campaign: string;
  /** Budget to reserve, in micros. */
  budgetMicros: number;
  /** The copy brief (as `copy.draft` takes it). */
  brief: JsonObject;
  /** Publication channel, e.g. "blog". */
  channel: string;
  /** RFC 3339 date-time of the publication slot. */
  publishAt: string;
}

const text = (value: unknown): string => {
  if (typeof value !== "string") throw new TypeError(`expected a string, got ${JSON.stringify(value)}`);
  return value;
};

/** The saga. */
export const campaignLaunchSaga = defineSaga({
  name: "campaign-launch",
  description: "Reserve the campaign's budget, draft the campaign, schedule its publication; a failed publication withdraws the draft and releases the budget.",
  inputSchema: {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "campaign-launch input",
    type: "object",
    additionalProperties: false,
    required: ["campaign", "budgetMicros", "brief", "channel", "publishAt"],
    properties: {
      campaign: { type: "string", minLength: 1, maxLength: 120 },
      budgetMicros: { type: "integer", minimum: 1, maximum: 1_000_000_000_000_000 },
      brief: (draftCopyInputSchema.properties as JsonObject).brief,
      // The publisher's own rules, so the saga accepts no channel or time its schedule step would refuse.
      channel: (schedulePublishInputSchema.properties as JsonObject).channel,
      publishAt: (schedulePublishInputSchema.properties as JsonObject).publishAt,
    },
  },
  steps: [
    {
      name: "reserve-budget",
      intent: "budget.reserve",
      inputs: ({ input }) => ({ campaign: input.campaign, amountMicros: input.budgetMicros }),
      compensation: { intent: "budget.release", inputs: ({ output, taskId }) => ({ reservationId: text(output.reservationId ?? `res-${taskId}`) }) },
    },
    {
      name: "draft-campaign",
      intent: "campaign.draft",
      inputs: ({ input, outputs }) => ({ campaign: input.campaign, reservationId: text(outputs["reserve-budget"]?.reservationId), brief: input.brief }),
      compensation: { intent: "campaign.withdraw", inputs: ({ output, taskId }) => ({ draftId: text(output.draftId ?? `draft-${taskId}`) }) },
    },
    {
      name: "schedule-publish",
      intent: "publish.schedule",
      inputs: ({ input, outputs }) => ({ draftId: text(outputs["draft-campaign"]?.draftId), channel: input.channel, publishAt: input.publishAt }),
      compensation: {
        intent: "publish.unschedule",
        inputs: ({ input, output, taskId }) => ({ scheduleId: text(output.scheduleId ?? `sched-${taskId}`), slot: text(output.slot ?? slotKey(text(input.channel), text(input.publishAt))) }),
      },
    },
  ],
});
