import { describe, expect, it } from "vitest";
import { parseCsv } from "./parse-csv.js";

describe("parseCsv", () => {
  it.each([
    ["empty input", "", []],
    ["blank lines only", "\n\r\n\n", []],
    ["LF records with a trailing line break", "a,b\n1,2\n", [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1", "2"] },
    ]],
    ["CRLF records without a trailing line break", "a,b\r\n1,2", [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["1", "2"] },
    ]],
    ["lone CR line breaks and a byte-order mark", "\uFEFFid\r1\r2", [
      { line: 1, fields: ["id"] },
      { line: 2, fields: ["1"] },
      { line: 3, fields: ["2"] },
    ]],
    ["quoted commas and doubled quotes", 'a,b\r\n"x, y","he said ""hi"""\r\n', [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["x, y", 'he said "hi"'] },
    ]],
    ["a quoted field spanning lines, counted in line numbers", 'a,b\n"multi\r\nline",2\n3,4', [
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["multi\r\nline", "2"] },
      { line: 4, fields: ["3", "4"] },
    ]],
    ["empty fields, quoted and not", 'a,b,c\n,"",\n', [
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["", "", ""] },
    ]],
    ["skipped blank lines and a lone empty quoted field", 'a\n\n""\n\n', [
      { line: 1, fields: ["a"] },
      { line: 3, fields: [""] },
    ]],
    ["a literal quote inside an unquoted field", "5'11\" tall,x", [{ line: 1, fields: ["5'11\" tall", "x"] }]],
    ["spaces kept as written", " a , b ", [{ line: 1, fields: [" a ", " b "] }]],
  ])("parses %s", (_name, text, expected) => {
    expect(parseCsv(text)).toEqual(expected);
  });

  it("flags text after a closing quote and an unclosed quote", () => {
    expect(parseCsv('a,b\n"x"y,2\n"open,3\n4,5')).toEqual([
      { line: 1, fields: ["a", "b"] },
      { line: 2, fields: ["xy", "2"], error: "text after the closing quote of field 1" },
      { line: 3, fields: ["open,3\n4,5"], error: "quoted field 1 is not closed before the end of the input" },
    ]);
  });
});
