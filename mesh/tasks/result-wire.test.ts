import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CancelResponseSchema, DelegateRequestSchema, DelegateResponseSchema } from "../../gen/agentmesh/v1/delegation_pb.js";
import { ResultSchema, TaskState } from "../../gen/agentmesh/v1/task_pb.js";
import { encodeResultResponse, resultToBinary } from "./result-wire.js";

/** A result whose encoding is about `size` bytes long (its rationale fills it). */
const result = (size: number) => create(ResultSchema, { taskId: "t-1", intent: "test.echo", state: TaskState.COMPLETED, outputs: { text: "hi" }, rationale: "x".repeat(size) });

describe("resultToBinary and encodeResultResponse", () => {
  it("encodes a result once and answers with the same bytes protobuf-es makes, for one- to three-byte lengths", () => {
    for (const size of [10, 200, 20_000]) {
      const r = result(size);
      const bytes = resultToBinary(r);
      expect(resultToBinary(r)).toBe(bytes);
      expect(bytes).toEqual(toBinary(ResultSchema, r));
      for (const schema of [DelegateResponseSchema, CancelResponseSchema]) {
        const framed = encodeResultResponse(schema, create(schema, { result: r }));
        expect(framed).toEqual(toBinary(schema, create(schema, { result: r })));
        expect(fromBinary(schema, framed!).result).toEqual(r);
      }
      // The init shape a handler returns works as well.
      expect(encodeResultResponse(DelegateResponseSchema, { result: r } as never)).toEqual(toBinary(DelegateResponseSchema, create(DelegateResponseSchema, { result: r })));
    }
  });

  it("leaves to protobuf-es a result not encoded before, a message without a result, unknown fields, and other schemas", () => {
    expect(encodeResultResponse(DelegateResponseSchema, create(DelegateResponseSchema, { result: result(5) }))).toBeUndefined();
    expect(encodeResultResponse(DelegateResponseSchema, create(DelegateResponseSchema))).toBeUndefined();
    const r = result(5);
    resultToBinary(r);
    const withUnknown = create(DelegateResponseSchema, { result: r });
    withUnknown.$unknown = [{ no: 9, wireType: 0, data: new Uint8Array([1]) }];
    expect(encodeResultResponse(DelegateResponseSchema, withUnknown)).toBeUndefined();
    expect(encodeResultResponse(DelegateRequestSchema, create(DelegateRequestSchema, { taskId: "t-1" }))).toBeUndefined();
  });
});
