// Copy templates: a few structures per channel, each filled in one of three voices.
// Placeholders: {hook} {opener} {closing} (from the voice), {product} {audience}
// {context} {messages} {hashtag} (from the brief). An empty {context} leaves no gap:
// renderTemplate collapses the blank lines and spaces it leaves behind.
import type { CopyChannel, CopyTone } from "./intent.js";

/** One copy structure for a channel. */
export interface CopyTemplate {
  /** "<channel>/<name>", stable: results and tests name it. */
  id: string;
  headline: string;
  body: string;
  /** How key messages render into {messages}: one "- " line each, or running sentences. */
  messageStyle: "bullets" | "sentences";
}

/** The phrases a tone contributes to every template. */
export interface ToneVoice {
  hook: string;
  opener: string;
  closing: string;
}

/** Phrases per tone. */
export const toneVoices: Readonly<Record<CopyTone, ToneVoice>> = {
  friendly: {
    hook: "Say hello to {product}",
    opener: "Hi {audience}!",
    closing: "We think you'll love it.",
  },
  formal: {
    hook: "Introducing {product}",
    opener: "Dear {audience},",
    closing: "We would welcome the opportunity to tell you more.",
  },
  bold: {
    hook: "{product} changes the game",
    opener: "Listen up, {audience}: stop settling.",
    closing: "Don't get left behind.",
  },
};

/** Templates per channel; a brief picks one by stable hash. */
export const copyTemplates: Readonly<Record<CopyChannel, readonly CopyTemplate[]>> = {
  email: [
    {
      id: "email/announcement",
      headline: "{hook} for {audience}",
      body: "{opener}\n\n{context}\n\n{product} is here, and here is why it matters:\n{messages}\n\n{closing}",
      messageStyle: "bullets",
    },
    {
      id: "email/problem-solution",
      headline: "{hook}, built for {audience}",
      body: "{opener}\n\n{context}\n\nWe built {product} with you in mind. {messages}\n\n{closing}",
      messageStyle: "sentences",
    },
    {
      id: "email/digest",
      headline: "{hook}: what you need to know",
      body: "{opener}\n\nThe short version:\n{messages}\n\n{context}\n\n{closing}",
      messageStyle: "bullets",
    },
  ],
  social: [
    {
      id: "social/hook",
      headline: "{hook}",
      body: "{messages} {context} {hashtag}",
      messageStyle: "sentences",
    },
    {
      id: "social/shout-out",
      headline: "{hook}",
      body: "{opener} {product}: {messages} {hashtag}",
      messageStyle: "sentences",
    },
    {
      id: "social/list",
      headline: "{hook}",
      body: "{opener}\n{messages}\n{context}\n{hashtag}",
      messageStyle: "bullets",
    },
  ],
  landing: [
    {
      id: "landing/hero",
      headline: "{hook}",
      body: "{opener} {product} is made for {audience}.\n\n{context}\n\n{messages}\n\n{closing}",
      messageStyle: "bullets",
    },
    {
      id: "landing/benefits",
      headline: "Why {audience} choose {product}",
      body: "{context}\n\n{messages}\n\n{closing}",
      messageStyle: "bullets",
    },
    {
      id: "landing/story",
      headline: "{hook}",
      body: "{opener}\n\n{context}\n\n{messages}\n\n{product}: made for {audience}. {closing}",
      messageStyle: "sentences",
    },
  ],
};
