/**
 * The documents of a `docs.summarize` task: inline, or read by signed link from
 * the task's artifacts. A JSON artifact holds `{"documents": [{title, text}, ...]}`
 * (what the copywriter uploads); a text artifact is one document, titled by its
 * name. The bytes are checked against each reference's digest on the way in
 * (`ctx.fetchArtifact`), and their content against the same schema as inline
 * documents.
 */
import { Code } from "@connectrpc/connect";
import { createSchemaValidator, describeViolations, meshError } from "../../mesh/index.js";
import type { TaskContext } from "../../mesh/index.js";
import { summarizeDocumentsSchema } from "./intent.js";
import type { SummarizeDocument, SummarizeInputs } from "./intent.js";

const schemas = createSchemaValidator();

/**
 * `inputs.documents` when given, else the documents in the task's artifacts.
 * Throws INVALID_ARGUMENT: `documents_missing` when there are neither,
 * `artifact_unreadable` for an artifact of another media type or whose content
 * breaks the documents schema; and whatever `ctx.fetchArtifact` throws.
 */
export async function readDocuments(inputs: Partial<SummarizeInputs>, ctx: TaskContext): Promise<SummarizeDocument[]> {
  if (inputs.documents !== undefined) return inputs.documents;
  if (ctx.artifacts.length === 0) {
    throw meshError(Code.InvalidArgument, "docs.summarize needs documents: inline in `documents`, or as artifacts of the task", { reason: "documents_missing" });
  }
  const documents: SummarizeDocument[] = [];
  for (const [i, ref] of ctx.artifacts.entries()) {
    const text = new TextDecoder().decode(await ctx.fetchArtifact(ref));
    if (ref.mediaType.startsWith("text/")) {
      documents.push({ title: ref.name === "" ? `artifact ${i + 1}` : ref.name, text });
      continue;
    }
    if (!ref.mediaType.startsWith("application/json")) throw unreadable(i, `its media type ${ref.mediaType} is neither JSON nor text`);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw unreadable(i, "it is not JSON");
    }
    const listed = (doc as { documents?: unknown } | null)?.documents;
    const violations = schemas.validate(summarizeDocumentsSchema, listed, "documents");
    if (violations.length > 0) throw unreadable(i, describeViolations(violations));
    documents.push(...(listed as SummarizeDocument[]));
  }
  return documents;
}

function unreadable(index: number, why: string) {
  return meshError(Code.InvalidArgument, `artifact ${index} holds no documents: ${why}`, { reason: "artifact_unreadable" });
}
