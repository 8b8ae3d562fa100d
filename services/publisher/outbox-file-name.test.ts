import { describe, expect, it } from "vitest";
import { outboxFileName } from "./outbox-file-name.js";
import { sha256Digest } from "./sha256-digest.js";

const suffix = (taskId: string): string => sha256Digest(taskId).slice(7, 23);

describe("outboxFileName", () => {
  it.each([
    ["a plain id", "task-42", "task-42.json"],
    ["an id with dots and underscores", "run_7.step.3", "run_7.step.3.json"],
    ["an id with a slash", "a/b", `a_b-${suffix("a/b")}.json`],
    ["a path traversal", "../../etc/passwd", `_._.._etc_passwd-${suffix("../../etc/passwd")}.json`],
    ["a leading dot", ".hidden", `_hidden-${suffix(".hidden")}.json`],
    ["non-ASCII letters", "tâche", `t_che-${suffix("tâche")}.json`],
    ["an id over 100 characters", "x".repeat(101), `${"x".repeat(100)}-${suffix("x".repeat(101))}.json`],
  ])("names %s", (_name, taskId, expected) => {
    expect(outboxFileName(taskId)).toBe(expected);
  });

  it("keeps ids apart that sanitise to the same text", () => {
    expect(new Set(["a/b", "a_b", "a:b"].map(outboxFileName)).size).toBe(3);
  });
});
