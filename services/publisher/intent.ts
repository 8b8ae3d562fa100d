// The `content.publish` contract: what the registry advertises and what the mesh
// validates inputs and outputs against (JSON Schema draft 2020-12). Publishing is a
// high-risk action: policy sends it to a human approver before the handler runs.

/** Intent name served by the publisher. */
export const publishContentIntent = "content.publish";

/** One-line description for the agent card. */
export const publishContentDescription =
  "Publishes content to a channel's outbox, once per task id (high risk: needs human " +
  "approval); returns where it was written and its SHA-256 digest.";

/** Longest body accepted, in characters. */
export const MAX_BODY_LENGTH = 100_000;
/** Longest task id accepted; task ids are also written into the file. */
export const MAX_TASK_ID_LENGTH = 256;

/** Inputs of `content.publish`. */
export interface PublishContentInputs {
  channel: string;
  title: string;
  body: string;
  /** RFC 3339 date-time at which the channel should release the content. */
  scheduledFor?: string;
}

/** Outputs of `content.publish`. */
export interface PublishContentOutputs {
  /** Absolute path of the outbox file. */
  outboxPath: string;
  /** "sha256:<hex>" of the file's bytes. */
  digest: string;
  /** Size of the file in bytes. */
  bytes: number;
  /** True when the same task had already published the same content. */
  alreadyPublished: boolean;
}

/** JSON Schema of {@link PublishContentInputs}. */
export const publishContentInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "content.publish inputs",
  type: "object",
  additionalProperties: false,
  required: ["channel", "title", "body"],
  properties: {
    channel: { type: "string", minLength: 1, maxLength: 64 },
    title: { type: "string", minLength: 1, maxLength: 300 },
    body: { type: "string", minLength: 1, maxLength: MAX_BODY_LENGTH },
    scheduledFor: { type: "string", format: "date-time", maxLength: 64 },
  },
};

/** JSON Schema of {@link PublishContentOutputs}. */
export const publishContentOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "content.publish outputs",
  type: "object",
  additionalProperties: false,
  required: ["outboxPath", "digest", "bytes", "alreadyPublished"],
  properties: {
    outboxPath: { type: "string", minLength: 1, maxLength: 4096 },
    digest: { type: "string", pattern: "^sha256:[0-9a-f]{64}$", maxLength: 71 },
    // JSON escapes a character in at most 6 bytes; the inputs and task id hold
    // about 100,700 characters, so a file stays well under a million bytes.
    bytes: { type: "integer", minimum: 1, maximum: 1_000_000 },
    alreadyPublished: { type: "boolean" },
  },
};
