// The `text.split-sentences` tool. A rule-based splitter in the spirit of Punkt's
// heuristics, without its trained parameters: a period ends a sentence unless it
// belongs to an abbreviation, an initial or a number, or the next word is lower-case.

/** Longest sentence kept whole; longer runs (lists, pasted tables) are cut at a word boundary. */
export const MAX_SENTENCE_LENGTH = 400;

// Abbreviations that never end a sentence: they are always followed by a name or
// a phrase ("Dr. Smith", "e.g. coffee"). Others ("etc.", "Inc.") end one when the
// next word is capitalised.
const NON_TERMINAL_ABBREVIATIONS: ReadonlySet<string> = new Set([
  "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "cf", "e.g", "i.e",
  "approx", "fig", "no", "nos", "vol", "ch", "sec", "dept", "gen", "gov", "rev",
]);

// One or more terminators, any closing quotes or brackets, then whitespace or the
// end: a period inside "3.5" or "e.g" is never followed by whitespace, so decimals
// and inner abbreviation dots never match.
const TERMINATOR = /[.!?]+["'”’)\]]*(?=\s|$)/gu;
const OPENING_PUNCTUATION = /^[("'“‘[]+/u;

/**
 * Splits text into trimmed sentences, in order. Blank lines always end a sentence
 * (headings and list items without punctuation stay separate); other whitespace is
 * collapsed to single spaces. Sentences over {@link MAX_SENTENCE_LENGTH} characters
 * are cut at the last space before the limit. Returns [] for blank text.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.split(/\n[^\S\n]*\n/u)) {
    const flat = paragraph.replace(/\s+/gu, " ").trim();
    let start = 0;
    for (const match of flat.matchAll(TERMINATOR)) {
      const end = match.index + match[0].length;
      if (!endsSentence(flat, match.index, match[0], end)) continue;
      pushChunks(sentences, flat.slice(start, end).trim());
      start = end;
    }
    pushChunks(sentences, flat.slice(start).trim());
  }
  return sentences;
}

function endsSentence(flat: string, index: number, terminator: string, end: number): boolean {
  const next = flat[end + 1];
  if (next !== undefined && /\p{Ll}/u.test(next)) return false;
  if (terminator !== ".") return true;
  const word = flat.slice(flat.lastIndexOf(" ", index) + 1, index).replace(OPENING_PUNCTUATION, "");
  if (/^\p{Lu}$/u.test(word)) return false; // an initial, as in "J. Smith"
  return !NON_TERMINAL_ABBREVIATIONS.has(word.toLowerCase());
}

function pushChunks(into: string[], sentence: string): void {
  let rest = sentence;
  while (rest.length > MAX_SENTENCE_LENGTH) {
    let cut = rest.lastIndexOf(" ", MAX_SENTENCE_LENGTH);
    if (cut <= 0) {
      cut = MAX_SENTENCE_LENGTH;
      // Never cut between the halves of a surrogate pair.
      const before = rest.charCodeAt(cut - 1);
      if (before >= 0xd800 && before <= 0xdbff) cut -= 1;
    }
    into.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== "") into.push(rest);
}
