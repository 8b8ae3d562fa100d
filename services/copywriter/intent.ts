// The `copy.draft` contract: what the registry advertises and what the mesh
// validates inputs and outputs against (JSON Schema draft 2020-12).

/** Intent name served by the copywriter. */
export const draftCopyIntent = "copy.draft";

/** One-line description for the agent card. */
export const draftCopyDescription =
  "Drafts marketing copy (headline, body, call to action) for one channel and tone " +
  "from a brief, by filling deterministic channel templates; respects a length limit.";

/** Voices a brief can ask for. */
export const copyTones = ["friendly", "formal", "bold"] as const;
/** Channels a brief can target. */
export const copyChannels = ["email", "social", "landing"] as const;
/** A voice: how the copy addresses its audience. */
export type CopyTone = (typeof copyTones)[number];
/** A channel: which template family is used. */
export type CopyChannel = (typeof copyChannels)[number];

/** Length limit per channel when the brief sets none (280 is a social post's limit). */
export const defaultMaxLength: Readonly<Record<CopyChannel, number>> = { email: 2000, social: 280, landing: 5000 };
/** Longest headline; longer ones are cut at a word boundary. */
export const MAX_HEADLINE_LENGTH = 120;
/** Bounds of a brief's `maxLength`. */
export const MIN_COPY_LENGTH = 40;
export const MAX_COPY_LENGTH = 10_000;
/** Longest product, audience or call to action. */
export const MAX_NAME_LENGTH = 80;

/** What the copy must say, to whom, where and how. */
export interface CopyBrief {
  product: string;
  audience: string;
  tone: CopyTone;
  channel: CopyChannel;
  /** 1..5 messages; each must appear verbatim in the copy. */
  keyMessages: string[];
  callToAction: string;
  /** Most characters of headline + body + call to action; default per channel, see {@link defaultMaxLength}. */
  maxLength?: number;
}

/** Inputs of `copy.draft`. */
export interface DraftCopyInputs {
  brief: CopyBrief;
  /** Background to weave in, e.g. a summary from another agent. */
  context?: string;
}

/** Outputs of `copy.draft`. */
export interface DraftCopyOutputs {
  headline: string;
  body: string;
  callToAction: string;
  channel: CopyChannel;
  /** Code points of headline + body + callToAction. */
  characterCount: number;
  /** Template used, as "<channel>/<name>:<tone>". */
  template: string;
}

/** JSON Schema of {@link DraftCopyInputs}. */
export const draftCopyInputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "copy.draft inputs",
  type: "object",
  additionalProperties: false,
  required: ["brief"],
  properties: {
    brief: {
      type: "object",
      additionalProperties: false,
      required: ["product", "audience", "tone", "channel", "keyMessages", "callToAction"],
      properties: {
        product: { type: "string", minLength: 1, maxLength: MAX_NAME_LENGTH },
        audience: { type: "string", minLength: 1, maxLength: MAX_NAME_LENGTH },
        tone: { enum: [...copyTones] },
        channel: { enum: [...copyChannels] },
        keyMessages: {
          type: "array",
          minItems: 1,
          maxItems: 5,
          items: { type: "string", minLength: 1, maxLength: 200 },
        },
        callToAction: { type: "string", minLength: 1, maxLength: MAX_NAME_LENGTH },
        maxLength: { type: "integer", minimum: MIN_COPY_LENGTH, maximum: MAX_COPY_LENGTH },
      },
    },
    context: { type: "string", maxLength: 4000 },
  },
};

/** JSON Schema of {@link DraftCopyOutputs}. */
export const draftCopyOutputSchema: Record<string, unknown> = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  title: "copy.draft outputs",
  type: "object",
  additionalProperties: false,
  required: ["headline", "body", "callToAction", "channel", "characterCount", "template"],
  properties: {
    headline: { type: "string", minLength: 1, maxLength: MAX_HEADLINE_LENGTH },
    body: { type: "string", maxLength: MAX_COPY_LENGTH },
    callToAction: { type: "string", minLength: 1, maxLength: MAX_NAME_LENGTH },
    channel: { enum: [...copyChannels] },
    characterCount: {
      type: "integer",
      minimum: 0,
      maximum: MAX_HEADLINE_LENGTH + MAX_COPY_LENGTH + MAX_NAME_LENGTH,
    },
    template: { type: "string", pattern: "^[a-z]+/[a-z-]+:[a-z]+$", maxLength: 64 },
  },
};
