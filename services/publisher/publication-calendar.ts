/**
 * The publication calendar: one booking per channel and slot, kept in an effect
 * ledger (`calendar.write`). Booking a slot is the schedule itself, so two
 * campaigns cannot both get one slot, and the same task booking again finds its
 * booking. Unscheduling records its own effect first, then frees the slot.
 */
import type { ToolRunner } from "../../mesh/index.js";
import type { EffectLedger } from "../shared/effect-ledger.js";
import type { WorkOutcome } from "../shared/tool-result.js";
import { ScheduleNotFoundError, SlotTakenError } from "./schedule-errors.js";
import type { SchedulePublishInputs, SchedulePublishOutputs, UnschedulePublishOutputs } from "./schedule-intent.js";

interface Booking extends Record<string, unknown> {
  readonly scheduleId: string;
  readonly draftId: string;
  readonly channel: string;
  readonly publishAt: string;
}

/** The slot key of `channel` at `publishAt`: `slot-<channel>-<UTC time without colons>`. */
export function slotKey(channel: string, publishAt: string): string {
  return `slot-${channel}-${new Date(publishAt).toISOString().replaceAll(":", "")}`;
}

/** Books the slot for task `taskId` (schedule `sched-<task id>`). Throws `SlotTakenError`. */
export async function schedulePublish(inputs: SchedulePublishInputs, taskId: string, calendar: EffectLedger, tool: ToolRunner): Promise<WorkOutcome<SchedulePublishOutputs>> {
  const scheduleId = `sched-${taskId}`;
  const slot = slotKey(inputs.channel, inputs.publishAt);
  const publishAt = new Date(inputs.publishAt).toISOString();
  const { applied, effect } = await tool("calendar.write", () =>
    calendar.apply<Booking>({ kind: "publish.scheduled", key: slot, taskId, data: { scheduleId, draftId: inputs.draftId, channel: inputs.channel, publishAt } }));
  if (effect.data.scheduleId !== scheduleId) throw new SlotTakenError(slot, effect.data.scheduleId);
  return {
    outputs: { scheduleId, slot, publishAt, alreadyScheduled: !applied },
    rationale: `${applied ? "Booked" : "Found the booking of"} ${inputs.channel} at ${publishAt} for draft ${inputs.draftId} as ${scheduleId}.`,
    evidence: [{ kind: "calendar_slot", description: "Slot booked", excerpt: slot }],
    confidence: 1,
  };
}

/** Frees the slot `slot` of schedule `scheduleId`, once. Throws `ScheduleNotFoundError`. */
export async function unschedulePublish(scheduleId: string, slot: string, taskId: string, calendar: EffectLedger, tool: ToolRunner): Promise<WorkOutcome<UnschedulePublishOutputs>> {
  const undoKey = `unschedule-${scheduleId}`;
  const booking = await calendar.get<Booking>(slot);
  const ours = booking?.data.scheduleId === scheduleId;
  if (!ours && (await calendar.get(undoKey)) === undefined) throw new ScheduleNotFoundError(scheduleId, slot);
  const { applied } = await tool("calendar.write", async () => {
    const done = await calendar.apply({ kind: "publish.unscheduled", key: undoKey, taskId, data: { scheduleId, slot } });
    // Only while the slot still holds this schedule: it may have been freed and booked by another since the read above.
    if (ours) await calendar.removeIf<Booking>(slot, (b) => b.data.scheduleId === scheduleId);
    return done;
  });
  return {
    outputs: { scheduleId, alreadyUnscheduled: !applied },
    rationale: applied ? `Freed calendar slot ${slot} of ${scheduleId}.` : `${scheduleId} had been unscheduled before; slot ${slot} is free of it.`,
    evidence: [{ kind: "calendar_slot", description: "Slot freed", excerpt: slot }],
    confidence: 1,
  };
}
