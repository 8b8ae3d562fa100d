/**
 * The publisher agent: offers `content.publish`, a high-risk action that writes
 * to a local outbox. The outbox file is named by task id and written atomically,
 * so a re-executed task cannot publish twice. For the campaign-launch saga it also
 * offers `publish.schedule` (high risk: books a draft into a channel's calendar
 * slot) and its compensation `publish.unschedule`.
 */
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { defineIntent, startAgent } from "../../mesh/index.js";
import type { RunningAgent } from "../../mesh/index.js";
import { withDomainErrors } from "../shared/domain-error.js";
import { openEffectLedger } from "../shared/effect-ledger.js";
import type { EffectLedger } from "../shared/effect-ledger.js";
import type { ServiceConfig } from "../shared/service-config.js";
import { tool } from "../shared/tools.js";
import {
  PublishConflictError, PublishVerificationError, publishContent, publishContentDescription, publishContentInputSchema,
  publishContentIntent, publishContentOutputSchema,
} from "./index.js";
import type { PublishContentInputs, PublishContentOutputs } from "./index.js";
import { schedulePublish, unschedulePublish } from "./publication-calendar.js";
import { ScheduleNotFoundError, SlotTakenError } from "./schedule-errors.js";
import {
  schedulePublishInputSchema, schedulePublishIntent, schedulePublishOutputSchema, unschedulePublishInputSchema, unschedulePublishIntent, unschedulePublishOutputSchema,
} from "./schedule-intent.js";
import type { SchedulePublishInputs, SchedulePublishOutputs, UnschedulePublishInputs, UnschedulePublishOutputs } from "./schedule-intent.js";

/** The `content.publish` intent, writing into `outboxDir`. */
export function publishDefinition(outboxDir: string) {
  return defineIntent<PublishContentInputs, PublishContentOutputs>({
    name: publishContentIntent,
    description: publishContentDescription,
    inputSchema: publishContentInputSchema,
    outputSchema: publishContentOutputSchema,
    tools: ["outbox.write", "outbox.verify"],
    requiredScopes: ["content:publish"],
    handle: (inputs, ctx) =>
      withDomainErrors(() => publishContent(inputs, ctx.taskId, outboxDir, ctx.tool), [
        [PublishConflictError, Code.AlreadyExists, "publish_conflict"],
        [PublishVerificationError, Code.DataLoss, "publish_verification_failed"],
      ]),
  });
}

/** The `publish.schedule` intent over `calendar`. */
export function schedulePublishDefinition(calendar: EffectLedger) {
  return defineIntent<SchedulePublishInputs, SchedulePublishOutputs>({
    name: schedulePublishIntent,
    description: "Books a campaign draft into a channel's publication calendar slot, once per task id (high risk: needs human approval).",
    inputSchema: schedulePublishInputSchema,
    outputSchema: schedulePublishOutputSchema,
    tools: ["calendar.write"],
    requiredScopes: ["publish:schedule"],
    handle: (inputs, ctx) => withDomainErrors(() => schedulePublish(inputs, ctx.taskId, calendar, ctx.tool), [[SlotTakenError, Code.FailedPrecondition, "slot_taken"]]),
  });
}

/** The `publish.unschedule` intent over `calendar`. */
export function unschedulePublishDefinition(calendar: EffectLedger) {
  return defineIntent<UnschedulePublishInputs, UnschedulePublishOutputs>({
    name: unschedulePublishIntent,
    description: "Frees a booked calendar slot, once (the compensation of publish.schedule).",
    inputSchema: unschedulePublishInputSchema,
    outputSchema: unschedulePublishOutputSchema,
    tools: ["calendar.write"],
    requiredScopes: ["publish:unschedule"],
    handle: (inputs, ctx) => withDomainErrors(() => unschedulePublish(inputs.scheduleId, inputs.slot, ctx.taskId, calendar, ctx.tool), [[ScheduleNotFoundError, Code.NotFound, "schedule_not_found"]]),
  });
}

/** Starts the publisher; the publication calendar is kept in `<data dir>/calendar`. */
export function startPublisher(config: ServiceConfig): Promise<RunningAgent> {
  const calendar = openEffectLedger(join(config.dataDir, "calendar"));
  return startAgent({
    name: "publisher",
    description: "Publishes content to the outbox (high risk: gated by policy).",
    version: "0.1.0",
    role: "worker",
    intents: [publishDefinition(config.outboxDir) as never, schedulePublishDefinition(calendar) as never, unschedulePublishDefinition(calendar) as never],
    tools: [
      tool("outbox.write", "Writes content to the outbox atomically."), tool("outbox.verify", "Reads back and verifies an outbox file."),
      tool("calendar.write", "Books or frees a channel's publication calendar slot, once per key."),
    ],
    scopes: ["content:publish", "publish:schedule", "publish:unschedule", "tool:outbox.write", "tool:outbox.verify", "tool:calendar.write"],
    config,
  });
}
