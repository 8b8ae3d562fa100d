import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordToolCalls } from "../shared/record-tool-calls.js";
import { publishContentOutputSchema, type PublishContentInputs } from "./intent.js";
import { publishContent as publishContentWith, renderOutboxContent } from "./publish-content.js";
import { PublishConflictError } from "./publish-conflict-error.js";
import { sha256Digest } from "./sha256-digest.js";

const validateOutputs = new Ajv2020({ strict: true }).compile(publishContentOutputSchema);
const inputs: PublishContentInputs = {
  channel: "blog",
  title: "Acme Analytics is here",
  body: "Track campaign spend in real time.",
  scheduledFor: "2025-06-01T09:00:00Z",
};
const content =
  "{\n" +
  '  "intent": "content.publish",\n' +
  '  "taskId": "task-7",\n' +
  '  "channel": "blog",\n' +
  '  "title": "Acme Analytics is here",\n' +
  '  "body": "Track campaign spend in real time.",\n' +
  '  "scheduledFor": "2025-06-01T09:00:00Z"\n' +
  "}\n";

let outbox: string;
beforeEach(async () => {
  outbox = await mkdtemp(join(tmpdir(), "outbox-"));
});
afterEach(async () => {
  await rm(outbox, { recursive: true, force: true });
});

// Runs the tools directly and records their names (the mesh would trace and count them).
let record = recordToolCalls();
beforeEach(() => {
  record = recordToolCalls();
});
const publishContent = (inputs: PublishContentInputs, taskId: string, dir: string) => publishContentWith(inputs, taskId, dir, record.tool);

describe("renderOutboxContent", () => {
  it("renders fixed-order JSON, with null for no schedule", () => {
    expect(renderOutboxContent(inputs, "task-7")).toBe(content);
    expect(JSON.parse(renderOutboxContent({ channel: "c", title: "t", body: "b" }, "x"))).toEqual({
      intent: "content.publish",
      taskId: "x",
      channel: "c",
      title: "t",
      body: "b",
      scheduledFor: null,
    });
  });
});

describe("publishContent", () => {
  it("writes the outbox file and verifies it", async () => {
    const path = join(outbox, "task-7.json");
    const digest = sha256Digest(content);
    const outcome = await publishContent(inputs, "task-7", outbox);
    expect(outcome).toEqual({
      outputs: { outboxPath: path, digest, bytes: 204, alreadyPublished: false },
      rationale:
        `Published "Acme Analytics is here" to the blog outbox for task "task-7": wrote 204 bytes to ${path} ` +
        `(temporary file, flushed, then linked into place); reading it back gave the expected ${digest}.`,
      evidence: [
        { kind: "file", description: "Outbox file written", uri: pathToFileURL(path).href, excerpt: digest },
        {
          kind: "read_back",
          description: "Read back 204 bytes; the SHA-256 digest matches",
          uri: pathToFileURL(path).href,
          excerpt: digest,
        },
      ],
      confidence: 1,
    });
    expect(record.calls).toEqual(["outbox.write", "outbox.verify"]);
    expect(await readFile(path, "utf8")).toBe(content);
    expect(validateOutputs(outcome.outputs)).toBe(true);
  });

  it("reports a second publish of the same task as already published, with one file", async () => {
    const first = await publishContent(inputs, "task-7", outbox);
    const second = await publishContent(inputs, "task-7", outbox);
    expect(second.outputs).toEqual({ ...first.outputs, alreadyPublished: true });
    expect(second.evidence[0]?.description).toBe("Outbox file from an earlier publish of this task");
    expect(second.rationale).toContain(`found ${first.outputs.outboxPath} already holding the same 204 bytes`);
    expect(second.confidence).toBe(1);
    expect(await readdir(outbox)).toEqual(["task-7.json"]);
  });

  it("throws a PublishConflictError when the task was published with other content", async () => {
    await publishContent(inputs, "task-7", outbox);
    const changed = { ...inputs, title: "Acme Analytics is finally here" };
    await expect(publishContent(changed, "task-7", outbox)).rejects.toThrow(
      new PublishConflictError(
        "task-7",
        join(outbox, "task-7.json"),
        sha256Digest(content),
        sha256Digest(renderOutboxContent(changed, "task-7")),
      ),
    );
    expect(await readFile(join(outbox, "task-7.json"), "utf8")).toBe(content);
  });

  it("conflicts with a foreign file already holding the task's name", async () => {
    await writeFile(join(outbox, "task-7.json"), "not ours");
    await expect(publishContent(inputs, "task-7", outbox)).rejects.toBeInstanceOf(PublishConflictError);
  });

  it("keeps a sanitised task id inside the outbox", async () => {
    const outcome = await publishContent(inputs, "../escape", outbox);
    expect(outcome.outputs.outboxPath).toBe(join(outbox, `_._escape-${sha256Digest("../escape").slice(7, 23)}.json`));
    expect(await readdir(outbox)).toEqual([`_._escape-${sha256Digest("../escape").slice(7, 23)}.json`]);
  });

  it.each([
    ["", "task id must have 1 to 256 characters, got 0"],
    ["t".repeat(257), "task id must have 1 to 256 characters, got 257"],
  ])("throws a RangeError for task id %#", async (taskId, message) => {
    await expect(publishContent(inputs, taskId, outbox)).rejects.toThrow(new RangeError(message));
    expect(await readdir(outbox)).toEqual([]);
  });
});
