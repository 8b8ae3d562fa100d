import { create } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ApprovalSchema, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import { decideCommand, formatApproval } from "./approval-commands.js";

const id = "apr-64297997-1177-42f8-b78b-2f260e30c81e";
const at = (iso: string) => timestampFromMs(Date.parse(iso));
const approval = (init: Omit<MessageInitShape<typeof ApprovalSchema>, "$typeName"> = {}) => create(ApprovalSchema, {
  approvalId: id, taskId: "job-1.publish", correlationId: "job-1", intent: "content.publish", targets: ["publisher"], requestedBy: "supervisor",
  inputs: { channel: "email", title: "Hello" }, reasons: [{ code: "approval_required", message: "content.publish is a high-risk intent" }],
  state: ApprovalState.PENDING, createdAt: at("2026-11-25T00:00:00Z"), expiresAt: at("2026-11-26T00:00:00Z"), depth: 1, ...init,
});

describe("decideCommand", () => {
  it.each([
    ["approve", "127.0.0.1:7070", `./bin/agentmesh.js approvals approve ${id} --reason "reviewed the request"`],
    ["deny", "127.0.0.1:7070", `./bin/agentmesh.js approvals deny ${id} --reason "not now"`],
    ["approve", "127.0.0.1:7170", `./bin/agentmesh.js approvals approve ${id} --reason "reviewed the request" --gateway 127.0.0.1:7170`],
  ] as const)("writes the %s command for a gateway at %s", (verb, gateway, command) => {
    expect(decideCommand(verb, id, gateway)).toBe(command);
  });
});

describe("formatApproval", () => {
  it("shows a pending approval with why it waits, its inputs and the commands that decide it", () => {
    expect(formatApproval(approval(), "127.0.0.1:7070")).toEqual([
      `${id}  pending  content.publish → publisher  (task job-1.publish, depth 1)`,
      "  requested by supervisor at 2026-11-25T00:00:00.000Z",
      "  why: content.publish is a high-risk intent (approval_required)",
      '  inputs: {"channel":"email","title":"Hello"}',
      "  expires at 2026-11-26T00:00:00.000Z; decide with:",
      `    ./bin/agentmesh.js approvals approve ${id} --reason "reviewed the request"`,
      `    ./bin/agentmesh.js approvals deny ${id} --reason "not now"`,
    ]);
  });

  it("shows who decided a settled approval, when and why", () => {
    const denied = approval({ state: ApprovalState.DENIED, decidedBy: "erin", decidedAt: at("2026-11-25T00:05:00Z"), decisionReason: "wrong channel" });
    expect(formatApproval(denied, "127.0.0.1:7070").at(-1)).toBe("  denied by erin at 2026-11-25T00:05:00.000Z: wrong channel");
  });
});
