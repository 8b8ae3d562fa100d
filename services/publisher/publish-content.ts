import { pathToFileURL } from "node:url";
import type { ToolRunner } from "../../mesh/index.js";
import type { WorkOutcome } from "../shared/tool-result.js";
import {
  MAX_TASK_ID_LENGTH,
  publishContentIntent,
  type PublishContentInputs,
  type PublishContentOutputs,
} from "./intent.js";
import { verifyOutboxFile } from "./verify-outbox-file.js";
import { writeOutboxFile } from "./write-outbox-file.js";

/**
 * The bytes published for a task: pretty-printed JSON with a fixed key order and no
 * timestamp, so the same task and inputs always give the same bytes and digest.
 */
export function renderOutboxContent(inputs: PublishContentInputs, taskId: string): string {
  const document = {
    intent: publishContentIntent,
    taskId,
    channel: inputs.channel,
    title: inputs.title,
    body: inputs.body,
    scheduledFor: inputs.scheduledFor ?? null,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * Handles `content.publish`: writes the content to the outbox once per task id
 * (`outbox.write`), then reads the file back (`outbox.verify`). Publishing the same
 * task id again with the same inputs finds the identical file, leaves it untouched
 * and reports `alreadyPublished: true`. Both tool calls run through `tool`.
 *
 * Confidence is 1: it is only returned after the read-back digest matched what was
 * meant to be written; any other outcome throws.
 *
 * @throws RangeError when `taskId` is empty or longer than 256 characters.
 * @throws PublishConflictError when the task id was published with other content.
 * @throws PublishVerificationError when the read-back does not match.
 * @throws the filesystem's error when the outbox cannot be written or read.
 */
export async function publishContent(
  inputs: PublishContentInputs,
  taskId: string,
  outboxDir: string,
  tool: ToolRunner,
): Promise<WorkOutcome<PublishContentOutputs>> {
  if (taskId === "" || taskId.length > MAX_TASK_ID_LENGTH) {
    throw new RangeError(`task id must have 1 to ${MAX_TASK_ID_LENGTH} characters, got ${taskId.length}`);
  }
  const written = await tool("outbox.write", () => writeOutboxFile(outboxDir, taskId, renderOutboxContent(inputs, taskId)));
  const verified = await tool("outbox.verify", () => verifyOutboxFile(written.path, written.digest));
  const action = written.alreadyPublished
    ? `found ${written.path} already holding the same ${verified.bytes} bytes and left it untouched`
    : `wrote ${verified.bytes} bytes to ${written.path} (temporary file, flushed, then linked into place)`;
  return {
    outputs: {
      outboxPath: written.path,
      digest: verified.digest,
      bytes: verified.bytes,
      alreadyPublished: written.alreadyPublished,
    },
    rationale:
      `Published ${JSON.stringify(inputs.title)} to the ${inputs.channel} outbox for task ${JSON.stringify(taskId)}: ` +
      `${action}; reading it back gave the expected ${verified.digest}.`,
    evidence: [
      {
        kind: "file",
        description: written.alreadyPublished ? "Outbox file from an earlier publish of this task" : "Outbox file written",
        uri: pathToFileURL(written.path).href,
        excerpt: written.digest,
      },
      {
        kind: "read_back",
        description: `Read back ${verified.bytes} bytes; the SHA-256 digest matches`,
        uri: pathToFileURL(written.path).href,
        excerpt: verified.digest,
      },
    ],
    confidence: 1,
  };
}
