import { describe, expect, it } from "vitest";
import { MAX_SENTENCE_LENGTH, splitSentences } from "./split-sentences.js";

describe("splitSentences", () => {
  it.each([
    ["empty text", "", []],
    ["blank text", "  \n\n \t ", []],
    ["one sentence without a terminator", "Hello world", ["Hello world"]],
    ["plain terminators", "One. Two! Three? Four.", ["One.", "Two!", "Three?", "Four."]],
    ["title abbreviations", "Dr. Smith met Mrs. Jones. They talked.", ["Dr. Smith met Mrs. Jones.", "They talked."]],
    ["e.g. and i.e.", "Use a channel, e.g. Email, i.e. Direct. Then wait.", ["Use a channel, e.g. Email, i.e. Direct.", "Then wait."]],
    ["decimals and prices", "Revenue grew 2.5% to $3.50 per lead. Costs fell.", ["Revenue grew 2.5% to $3.50 per lead.", "Costs fell."]],
    ["initials", "J. R. Tolkien wrote it. Done.", ["J. R. Tolkien wrote it.", "Done."]],
    ["a lower-case next word", "It costs approx. ten dollars, etc. and more. Next.", ["It costs approx. ten dollars, etc. and more.", "Next."]],
    ["etc. before a capital", "Email, social, etc. Landing pages too.", ["Email, social, etc.", "Landing pages too."]],
    ["closing quotes and brackets", 'He said "stop." Then (quietly.) left.', ['He said "stop."', "Then (quietly.) left."]],
    ["ellipses", "Wait... Go on.", ["Wait...", "Go on."]],
    ["blank lines end a sentence", "A Heading\n\nBody text\nwraps here. End", ["A Heading", "Body text wraps here.", "End"]],
    ["CRLF paragraphs", "First line\r\n\r\nSecond line.", ["First line", "Second line."]],
  ])("splits %s", (_name, text, expected) => {
    expect(splitSentences(text)).toEqual(expected);
  });

  it("cuts a sentence longer than the limit at the last space before it", () => {
    const word = "abcdefghi"; // 9 characters, 10 with its space
    const text = Array.from({ length: 45 }, () => word).join(" ") + ".";
    const sentences = splitSentences(text);
    expect(sentences.map((sentence) => sentence.length)).toEqual([399, 50]);
    expect(sentences.every((sentence) => sentence.length <= MAX_SENTENCE_LENGTH)).toBe(true);
  });

  it("hard-cuts a run without spaces without splitting a surrogate pair", () => {
    const text = "x".repeat(MAX_SENTENCE_LENGTH - 1) + "😀" + "y";
    expect(splitSentences(text)).toEqual(["x".repeat(MAX_SENTENCE_LENGTH - 1), "😀y"]);
  });
});
