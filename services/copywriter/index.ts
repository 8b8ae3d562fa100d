// Public API of the copywriter worker: the `copy.draft` contract and its tools.
export { draftCopy, MAX_CONTEXT_SNIPPET } from "./draft-copy.js";
export { renderTemplate, TemplateRenderError } from "./render-template.js";
export { checkLength, codePointLength, type LengthCheck } from "./check-length.js";
export { trimToWordBoundary } from "./trim-to-word-boundary.js";
export { stableHash } from "./stable-hash.js";
export { copyTemplates, toneVoices, type CopyTemplate, type ToneVoice } from "./templates.js";
export {
  draftCopyIntent,
  draftCopyDescription,
  draftCopyInputSchema,
  draftCopyOutputSchema,
  copyChannels,
  copyTones,
  defaultMaxLength,
  MAX_COPY_LENGTH,
  MAX_HEADLINE_LENGTH,
  MAX_NAME_LENGTH,
  MIN_COPY_LENGTH,
  type CopyBrief,
  type CopyChannel,
  type CopyTone,
  type DraftCopyInputs,
  type DraftCopyOutputs,
} from "./intent.js";
