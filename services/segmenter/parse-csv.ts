// The `csv.parse` tool: RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180) with the
// leniencies real exports need: LF or CRLF (or a lone CR) line breaks, a leading
// byte-order mark, a quote inside an unquoted field taken literally (5'11" tall).

/** One CSV record. */
export interface CsvRecord {
  /** 1-based line on which the record starts (a quoted field may span lines). */
  line: number;
  fields: string[];
  /** Why the record cannot be trusted, when it cannot; its fields are then partial. */
  error?: string;
}

/**
 * Parses CSV text into records, in order, header included. Quoted fields may hold
 * commas, line breaks (kept as written) and doubled quotes (read as one). Empty lines
 * are skipped; a line holding only `""` is a record with one empty field. A record
 * gets an `error` when text follows a closing quote or when a quoted field is not
 * closed before the end of the input. Never throws.
 */
export function parseCsv(text: string): CsvRecord[] {
  const input = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let closed = false; // just after a field's closing quote
  let empty = true; // nothing read since the record started
  let error: string | undefined;
  let line = 1;
  let recordLine = 1;

  const endRecord = (): void => {
    if (!empty) {
      fields.push(field);
      records.push(error === undefined ? { line: recordLine, fields } : { line: recordLine, fields, error });
    }
    fields = [];
    field = "";
    closed = false;
    empty = true;
    error = undefined;
    recordLine = line;
  };

  for (let i = 0; i < input.length; i += 1) {
    const char = input[i] as string;
    if (quoted) {
      if (char === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i += 1;
        } else {
          quoted = false;
          closed = true;
        }
      } else {
        if (char === "\n" || (char === "\r" && input[i + 1] !== "\n")) line += 1;
        field += char;
      }
      continue;
    }
    if (char === "\n" || char === "\r") {
      if (char === "\r" && input[i + 1] === "\n") i += 1;
      line += 1;
      endRecord();
      continue;
    }
    empty = false;
    if (char === ",") {
      fields.push(field);
      field = "";
      closed = false;
    } else if (char === '"' && field === "" && !closed) {
      quoted = true;
    } else {
      if (closed) error ??= `text after the closing quote of field ${fields.length + 1}`;
      field += char;
    }
  }
  if (quoted) error = `quoted field ${fields.length + 1} is not closed before the end of the input`;
  endRecord();
  return records;
}
