// The `publish.schedule` and `publish.unschedule` contracts: a campaign draft is
// put on a channel's publication calendar at one slot (a channel publishes one
// thing per slot). Scheduling is high risk (policy holds it for a human
// approval); unscheduling is its compensation.

/** Intent that books a draft into a channel's calendar slot. */
export const schedulePublishIntent = "publish.schedule";
/** Intent that gives a booked slot back (the compensation of `publish.schedule`). */
export const unschedulePublishIntent = "publish.unschedule";

/** Inputs of `publish.schedule`. */
export interface SchedulePublishInputs {
  draftId: string;
  /** Lowercase channel name, e.g. "blog". */
  channel: string;
  /** RFC 3339 date-time of the slot. */
  publishAt: string;
}

/** Outputs of `publish.schedule`. */
export interface SchedulePublishOutputs {
  scheduleId: string;
  /** The calendar slot booked: `slot-<channel>-<time>`. */
  slot: string;
  /** The slot's time, normalised to UTC. */
  publishAt: string;
  /** True when this task had booked it before. */
  alreadyScheduled: boolean;
}

/** Inputs of `publish.unschedule`. */
export interface UnschedulePublishInputs {
  scheduleId: string;
  slot: string;
}

/** Outputs of `publish.unschedule`. */
export interface UnschedulePublishOutputs {
  scheduleId: string;
  /** True when it had been unscheduled before. */
  alreadyUnscheduled: boolean;
}

const scheduleId = { type: "string", pattern: "^sched-[A-Za-z0-9._-]{1,200}$", maxLength: 206 };
const slot = { type: "string", pattern: "^slot-[a-z0-9-]{1,64}-[0-9TZ.-]{1,40}$", maxLength: 110 };

/** JSON Schema of {@link SchedulePublishInputs}. */
export const schedulePublishInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "publish.schedule inputs",
  type: "object",
  additionalProperties: false,
  required: ["draftId", "channel", "publishAt"],
  properties: {
    draftId: { type: "string", minLength: 1, maxLength: 206 },
    channel: { type: "string", pattern: "^[a-z0-9-]{1,64}$" },
    publishAt: { type: "string", format: "date-time", maxLength: 64 },
  },
};

/** JSON Schema of {@link SchedulePublishOutputs}. */
export const schedulePublishOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "publish.schedule outputs",
  type: "object",
  additionalProperties: false,
  required: ["scheduleId", "slot", "publishAt", "alreadyScheduled"],
  properties: { scheduleId, slot, publishAt: { type: "string", format: "date-time" }, alreadyScheduled: { type: "boolean" } },
};

/** JSON Schema of {@link UnschedulePublishInputs}. */
export const unschedulePublishInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "publish.unschedule inputs",
  type: "object",
  additionalProperties: false,
  required: ["scheduleId", "slot"],
  properties: { scheduleId, slot },
};

/** JSON Schema of {@link UnschedulePublishOutputs}. */
export const unschedulePublishOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "publish.unschedule outputs",
  type: "object",
  additionalProperties: false,
  required: ["scheduleId", "alreadyUnscheduled"],
  properties: { scheduleId, alreadyUnscheduled: { type: "boolean" } },
};
