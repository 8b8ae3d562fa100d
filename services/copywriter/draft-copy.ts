import type { ToolRunner } from "../../mesh/index.js";
import type { WorkEvidence, WorkOutcome } from "../shared/tool-result.js";
import { checkLength, codePointLength } from "./check-length.js";
import {
  defaultMaxLength,
  MAX_HEADLINE_LENGTH,
  type CopyBrief,
  type DraftCopyInputs,
  type DraftCopyOutputs,
} from "./intent.js";
import { renderTemplate } from "./render-template.js";
import { stableHash } from "./stable-hash.js";
import { copyTemplates, toneVoices, type CopyTemplate } from "./templates.js";
import { trimToWordBoundary } from "./trim-to-word-boundary.js";

/** Most code points of the context woven into the body. */
export const MAX_CONTEXT_SNIPPET = 240;

/**
 * Handles `copy.draft`: picks one of the channel's templates by a stable hash of the
 * brief (the same brief always gets the same template), fills it in the brief's
 * voice (`template.render` for the hook, opener, closing, headline and body), checks
 * the length (`text.check-length`) and, when headline + body + call to action exceed
 * `maxLength` (default per channel), cuts the body at a word boundary and checks again.
 * The headline is capped at 120 code points; the context at 240.
 *
 * Confidence is the share of the brief's requirements the copy meets, rounded to 4
 * decimals: each key message appearing verbatim (case and spacing aside), the call
 * to action present, the length within the limit, and, when context is given, its
 * snippet present in the body.
 *
 * Each render and length check is one call of its tool through `tool`.
 */
export function draftCopy(inputs: DraftCopyInputs, tool: ToolRunner): WorkOutcome<DraftCopyOutputs> {
  const { brief } = inputs;
  const maxLength = brief.maxLength ?? defaultMaxLength[brief.channel];
  const templates = copyTemplates[brief.channel];
  const hash = stableHash(briefKey(brief));
  const template = templates[hash % templates.length] as CopyTemplate;
  const voice = toneVoices[brief.tone];
  const messages = brief.keyMessages.map(tidy);
  const context = trimToWordBoundary(tidy(inputs.context ?? ""), MAX_CONTEXT_SNIPPET);
  const callToAction = tidy(brief.callToAction);

  const render = (text: string, values: Record<string, string>): string =>
    tool("template.render", () => renderTemplate(text, values));
  const base = { product: tidy(brief.product), audience: tidy(brief.audience) };
  const values = {
    ...base,
    hook: render(voice.hook, base),
    opener: render(voice.opener, base),
    closing: render(voice.closing, base),
    context,
    messages: formatMessages(messages, template.messageStyle),
    hashtag: hashtag(base.product),
  };
  const headline = trimToWordBoundary(render(template.headline, values), MAX_HEADLINE_LENGTH);
  let body = render(template.body, values);

  let check = tool("text.check-length", () => checkLength([headline, body, callToAction], maxLength));
  const fullBodyLength = codePointLength(body);
  if (!check.within) {
    body = trimToWordBoundary(body, maxLength - codePointLength(headline) - codePointLength(callToAction));
    check = tool("text.check-length", () => checkLength([headline, body, callToAction], maxLength));
  }

  const copy = normalize(`${headline}\n${body}\n${callToAction}`);
  const requirements: { met: boolean; description: string }[] = messages.map((message, index) => ({
    met: copy.includes(normalize(message)),
    description: `Key message ${index + 1} ${JSON.stringify(message)}`,
  }));
  requirements.push({ met: callToAction !== "", description: `Call to action ${JSON.stringify(callToAction)}` });
  requirements.push({ met: check.within, description: `Length ${check.length} of at most ${maxLength}` });
  if (context !== "") {
    requirements.push({ met: normalize(body).includes(normalize(context)), description: "Context snippet" });
  }
  const met = requirements.filter((requirement) => requirement.met).length;
  const confidence = Math.round((met / requirements.length) * 10_000) / 10_000;
  const templateName = `${template.id}:${brief.tone}`;
  const trimmedBy = fullBodyLength - codePointLength(body);

  const evidence: WorkEvidence[] = [
    {
      kind: "template",
      description:
        `Template ${templateName}, ${templates.indexOf(template) + 1} of ${templates.length} ` +
        `for ${brief.channel}, picked by FNV-1a hash ${hash.toString(16).padStart(8, "0")} of the brief`,
    },
    ...requirements.map((requirement) => ({
      kind: "requirement_check",
      description: `${requirement.description}: ${requirement.met ? "met" : "not met"}`,
    })),
  ];
  let trimNote = "";
  if (!check.within) {
    trimNote = ` Even without a body, the headline and call to action exceed ${maxLength}.`;
  } else if (trimmedBy > 0) {
    trimNote = ` The body was cut by ${trimmedBy} characters at a word boundary to fit ${maxLength}.`;
  }
  return {
    outputs: { headline, body, callToAction, channel: brief.channel, characterCount: check.length, template: templateName },
    rationale:
      `Filled template ${templateName} with ${messages.length} key message${messages.length === 1 ? "" : "s"}` +
      `${context === "" ? "" : " and the given context"}; the copy has ${check.length} of at most ` +
      `${maxLength} characters.${trimNote} ${met} of ${requirements.length} brief requirements met.`,
    evidence,
    confidence,
  };
}

// The fields that define the copy; context is left out so a summary that changes
// wording does not move the brief to another template.
function briefKey(brief: CopyBrief): string {
  return JSON.stringify([brief.channel, brief.tone, brief.product, brief.audience, brief.keyMessages, brief.callToAction]);
}

function formatMessages(messages: readonly string[], style: CopyTemplate["messageStyle"]): string {
  if (style === "bullets") return messages.map((message) => `- ${message}`).join("\n");
  return messages.map((message) => (/[.!?…]$/u.test(message) ? message : `${message}.`)).join(" ");
}

function hashtag(product: string): string {
  const words = product.match(/[\p{L}\p{N}]+/gu) ?? [];
  const tag = words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("");
  return tag === "" ? "" : `#${tag}`;
}

function tidy(text: string): string {
  return text.replace(/\s+/gu, " ").trim();
}

function normalize(text: string): string {
  return tidy(text).toLowerCase();
}
