/**
 * A task's result in binary protobuf, encoded once per snapshot. A service
 * encodes a task's final `Result` twice: into its task journal, then into the
 * `DelegateResponse` that answers the call, and protobuf-es encodes by
 * reflection (about 15 µs for a small result on the benchmark machine). The
 * journal writes first, so the answer reuses its bytes.
 *
 * This relies on what the whole runtime already does: a `Result` is a snapshot,
 * never changed in place; every change makes a new object (result-builder.ts,
 * `create(ResultSchema, {...})`). A result changed in place after it was
 * encoded would be answered as it was.
 */
import { toBinary } from "@bufbuild/protobuf";
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../../gen/agentmesh/v1/task_pb.js";

const encoded = new WeakMap<Result, Uint8Array>();

/** `toBinary(ResultSchema, result)`, made once per result object. */
export function resultToBinary(result: Result): Uint8Array {
  let bytes = encoded.get(result);
  if (bytes === undefined) {
    bytes = toBinary(ResultSchema, result);
    encoded.set(result, bytes);
  }
  return bytes;
}

/**
 * The binary form of `message` when its schema has one field, `Result result = 1`
 * (DelegateResponse, CancelResponse), its result was encoded before and it
 * carries no unknown fields: the field's tag and length, then the result's bytes.
 * Undefined for anything else (the caller encodes it as usual).
 */
export function encodeResultResponse(schema: DescMessage, message: Message): Uint8Array | undefined {
  const only = schema.fields.length === 1 ? schema.fields[0] : undefined;
  if (only?.number !== 1 || only.message?.typeName !== ResultSchema.typeName) return undefined;
  const { result, $unknown } = message as Message & { result?: Result; $unknown?: readonly unknown[] };
  if (result === undefined || ($unknown !== undefined && $unknown.length > 0)) return undefined;
  const bytes = encoded.get(result);
  if (bytes === undefined) return undefined;
  const length: number[] = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  const out = new Uint8Array(1 + length.length + bytes.length);
  out[0] = (1 << 3) | 2; // field 1, length-delimited
  out.set(length, 1);
  out.set(bytes, 1 + length.length);
  return out;
}
