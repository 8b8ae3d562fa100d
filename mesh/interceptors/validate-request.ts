/**
 * Step 3: request validation. Every method has a validator; a call whose method
 * has none is refused, so a new RPC cannot go unvalidated by oversight.
 */
import { Code } from "@connectrpc/connect";
import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { MeshCall, MeshInterceptor } from "../call.js";
import { meshError } from "../errors.js";

/** Checks one request message; throws a `ConnectError` when it is not acceptable. */
export type RequestValidator = (message: Message, call: MeshCall) => void;

/** Validators by method, keyed with `methodKey`. */
export type ValidatorTable = ReadonlyMap<string, RequestValidator>;

/** Key of a method in a `ValidatorTable`: "agentmesh.v1.DelegationService/Delegate". */
export function methodKey(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

/** Creates the validation step over a table of validators. */
export function createValidationInterceptor(validators: ValidatorTable): MeshInterceptor {
  return (next) => (call) => {
    const validate = validators.get(methodKey(call.method));
    if (validate === undefined) {
      throw meshError(Code.Unimplemented, `${call.method.name} has no request validator`, { reason: "no_validator" });
    }
    validate(call.message, call);
    return next(call);
  };
}
