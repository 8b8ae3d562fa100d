import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openEffectLedger } from "../shared/effect-ledger.js";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { schedulePublish, slotKey, unschedulePublish } from "./publication-calendar.js";
import { ScheduleNotFoundError, SlotTakenError } from "./schedule-errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "calendar-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inputs = { draftId: "draft-a", channel: "blog", publishAt: "2027-03-01T09:00:00+01:00" };

describe("slotKey", () => {
  it("names a channel's slot by its UTC time", () => {
    expect(slotKey("blog", "2027-03-01T09:00:00+01:00")).toBe("slot-blog-2027-03-01T080000.000Z");
  });
});

describe("schedulePublish and unschedulePublish", () => {
  it("books a slot once per task, refuses it to another schedule, and frees it once", async () => {
    const calendar = openEffectLedger(dir);
    const { tool } = recordToolCalls();
    const first = await schedulePublish(inputs, "a.publish.do", calendar, tool);
    expect(first.outputs).toEqual({ scheduleId: "sched-a.publish.do", slot: "slot-blog-2027-03-01T080000.000Z", publishAt: "2027-03-01T08:00:00.000Z", alreadyScheduled: false });
    expect((await schedulePublish(inputs, "a.publish.do", calendar, tool)).outputs.alreadyScheduled).toBe(true);
    await expect(schedulePublish({ ...inputs, draftId: "draft-b" }, "b.publish.do", calendar, tool)).rejects.toThrow(new SlotTakenError("slot-blog-2027-03-01T080000.000Z", "sched-a.publish.do"));
    expect((await unschedulePublish("sched-a.publish.do", first.outputs.slot, "a.publish.undo", calendar, tool)).outputs).toEqual({ scheduleId: "sched-a.publish.do", alreadyUnscheduled: false });
    expect((await unschedulePublish("sched-a.publish.do", first.outputs.slot, "a.publish.undo", calendar, tool)).outputs).toEqual({ scheduleId: "sched-a.publish.do", alreadyUnscheduled: true });
    expect((await schedulePublish({ ...inputs, draftId: "draft-b" }, "b.publish.do", calendar, tool)).outputs.scheduleId).toBe("sched-b.publish.do");
    expect((await calendar.journal()).map((e) => [e.kind, e.taskId])).toEqual([
      ["publish.scheduled", "a.publish.do"], ["publish.unscheduled", "a.publish.undo"], ["publish.scheduled", "b.publish.do"],
    ]);
  });

  it("does not free a slot booked by another schedule since the unschedule read it", async () => {
    const ledger = openEffectLedger(dir);
    const { tool } = recordToolCalls();
    const a = await schedulePublish(inputs, "a.publish.do", ledger, tool);
    const stale = await ledger.get(a.outputs.slot);
    await unschedulePublish("sched-a.publish.do", a.outputs.slot, "a.publish.undo", ledger, tool);
    await schedulePublish({ ...inputs, draftId: "draft-b" }, "b.publish.do", ledger, tool);
    // A retry of a's unschedule that read the slot before b booked it.
    const racing = { ...ledger, get: <T extends Record<string, unknown>>(key: string) => (key === a.outputs.slot ? Promise.resolve(stale as never) : ledger.get<T>(key)) };
    expect((await unschedulePublish("sched-a.publish.do", a.outputs.slot, "a.publish.undo", racing, tool)).outputs.alreadyUnscheduled).toBe(true);
    expect((await ledger.get<{ scheduleId: string }>(a.outputs.slot))?.data.scheduleId).toBe("sched-b.publish.do");
  });

  it("refuses to free a slot the schedule never held", async () => {
    await expect(unschedulePublish("sched-x", "slot-blog-2027-03-01T080000.000Z", "x.undo", openEffectLedger(dir), recordToolCalls().tool)).rejects.toThrow(
      new ScheduleNotFoundError("sched-x", "slot-blog-2027-03-01T080000.000Z"),
    );
  });
});
