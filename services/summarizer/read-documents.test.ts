import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ArtifactRefSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { ArtifactRef } from "../../gen/agentmesh/v1/task_pb.js";
import { errorDetailOf } from "../../mesh/index.js";
import type { TaskContext } from "../../mesh/index.js";
import { rejection } from "../../test/support/rejection.js";
import { readDocuments } from "./read-documents.js";

/** A task context whose artifacts are `contents` (media type, name, text), fetched from memory. */
function contextWith(contents: [string, string, string][]): TaskContext {
  const refs = contents.map(([mediaType, name], i) => create(ArtifactRefSchema, { uri: `mem:${i}`, mediaType, name }));
  return {
    artifacts: refs,
    fetchArtifact: (ref: ArtifactRef) => Promise.resolve(new TextEncoder().encode(contents[Number(ref.uri.slice(4))]![2])),
  } as Partial<TaskContext> as TaskContext;
}

const docs = [{ title: "Brief", text: "Beacon ships today." }];

describe("readDocuments", () => {
  it("answers inline documents without reading any artifact", async () => {
    expect(await readDocuments({ documents: docs }, contextWith([["text/plain", "x", "ignored"]]))).toEqual(docs);
  });

  it("reads a JSON artifact's documents and a text artifact as one document titled by its name", async () => {
    const ctx = contextWith([["application/json", "documents.json", JSON.stringify({ documents: docs })], ["text/plain; charset=utf-8", "notes.txt", "Leaders want alerts."], ["text/markdown", "", "# Untitled"]]);
    expect(await readDocuments({}, ctx)).toEqual([...docs, { title: "notes.txt", text: "Leaders want alerts." }, { title: "artifact 3", text: "# Untitled" }]);
  });

  it.each([
    ["no documents and no artifacts", [], "documents_missing", "docs.summarize needs documents: inline in `documents`, or as artifacts of the task"],
    ["an artifact of another media type", [["image/png", "logo.png", "png"]], "artifact_unreadable", "artifact 0 holds no documents: its media type image/png is neither JSON nor text"],
    ["a JSON artifact that is not JSON", [["application/json", "d.json", "{"]], "artifact_unreadable", "artifact 0 holds no documents: it is not JSON"],
    ["a JSON artifact without documents", [["application/json", "d.json", "{\"documents\": []}"]], "artifact_unreadable", "artifact 0 holds no documents: documents must NOT have fewer than 1 items"],
  ] as [string, [string, string, string][], string, string][])("refuses %s with INVALID_ARGUMENT", async (_name, contents, reason, message) => {
    const err = await rejection(readDocuments({}, contextWith(contents)));
    expect([err.code, errorDetailOf(err)?.reason, err.rawMessage]).toEqual([Code.InvalidArgument, reason, message]);
  });
});
