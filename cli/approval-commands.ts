/**
 * `agentmesh approvals`: a person deciding what policy held back for a human.
 *
 *   agentmesh approvals list [--state pending|approved|denied|expired|all]
 *   agentmesh approvals approve ID --reason TEXT
 *   agentmesh approvals deny ID --reason TEXT
 *
 * Each command calls the gateway's ApprovalService (the gateway holds the
 * approvals of every call routed through it) as the person at the keyboard,
 * with role approver (cli/cli-identity.ts): USER, or AGENTMESH_TOKEN when set.
 */
import { Option } from "commander";
import type { Command } from "commander";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ApprovalDecision, ApprovalService, ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import type { Approval } from "../gen/agentmesh/v1/approval_pb.js";
import type { GrpcClient } from "../mesh/index.js";
import { cliAuth } from "./cli-identity.js";
import type { CliConfig } from "./config.js";
import { callGateway } from "./gateway-call.js";

/** `--state` values and the states they list. */
const stateChoices: Readonly<Record<string, ApprovalState>> = {
  pending: ApprovalState.PENDING,
  approved: ApprovalState.APPROVED,
  denied: ApprovalState.DENIED,
  expired: ApprovalState.EXPIRED,
  all: ApprovalState.UNSPECIFIED,
};

/** The gateway `agentmesh` commands call unless told otherwise. */
const defaultGateway = "127.0.0.1:7070";

/** How long a call of these commands may take. */
const callTimeoutMs = 10_000;

/**
 * Adds `approvals list|approve|deny` to `program`; `gatewayOption` makes each
 * command's `--gateway` option.
 */
export function registerApprovalCommands(program: Command, config: CliConfig, gatewayOption: () => Option): void {
  const approvals = program
    .command("approvals")
    .description(`list and decide what policy held back for a human, as ${config.token === undefined ? config.user : "AGENTMESH_TOKEN's subject"} with role approver`);

  approvals
    .command("list")
    .description("list approvals at the gateway, newest first")
    .addOption(new Option("--state <state>", "which approvals to list").choices(Object.keys(stateChoices)).default("pending"))
    .addOption(gatewayOption())
    .action((o: { state: string; gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        const found = await listApprovals(client, config, stateChoices[o.state]!);
        if (found.length === 0) process.stdout.write(`no ${o.state === "all" ? "" : `${o.state} `}approvals\n`);
        for (const a of found) process.stdout.write(formatApproval(a, o.gateway).join("\n") + "\n\n");
      }),
    );

  for (const [verb, decision, effect] of [
    ["approve", ApprovalDecision.APPROVE, "the task runs as it was asked"],
    ["deny", ApprovalDecision.DENY, "the task ends REJECTED with the reason"],
  ] as const) {
    approvals
      .command(verb)
      .description(`${verb} a pending approval: ${effect}`)
      .argument("<approval-id>")
      .requiredOption("--reason <text>", "why; kept on the approval and in the audit log")
      .addOption(gatewayOption())
      .action((approvalId: string, o: { reason: string; gateway: string }) =>
        callGateway(o.gateway, async (client) => {
          const { approval } = await client.unary(ApprovalService.method.decide, { approvalId, decision, reason: o.reason }, {
            metadata: await cliAuth(config, "approver"), deadline: Date.now() + callTimeoutMs,
          });
          process.stdout.write(`${stateName(approval!.state)} ${approvalId} by ${approval!.decidedBy}: ${approval!.intent} (task ${approval!.taskId}) — ${effect}\n`);
        }),
      );
  }
}

/** The approvals at the gateway in `state` (UNSPECIFIED: all), newest first, listed as the config's approver. */
export async function listApprovals(client: GrpcClient, config: CliConfig, state: ApprovalState): Promise<Approval[]> {
  const res = await client.unary(ApprovalService.method.listApprovals, { state, limit: 1000 }, {
    metadata: await cliAuth(config, "approver"), deadline: Date.now() + callTimeoutMs,
  });
  return res.approvals;
}

/**
 * An approval as lines of text: id, state, intent and targets, task, who asked
 * and when, why policy asked for a human, the inputs, and either the decision or
 * the exact commands that decide it (naming `gateway` when it is not the default).
 */
export function formatApproval(a: Approval, gateway: string): string[] {
  const lines = [
    `${a.approvalId}  ${stateName(a.state)}  ${a.intent} → ${a.targets.join(", ") || "?"}  (task ${a.taskId}, depth ${a.depth})`,
    `  requested by ${a.requestedBy} at ${timeOf(a.createdAt)}`,
    ...a.reasons.map((r) => `  why: ${r.message} (${r.code})`),
    `  inputs: ${JSON.stringify(a.inputs ?? {})}`,
  ];
  if (a.state === ApprovalState.PENDING) {
    lines.push(`  expires at ${timeOf(a.expiresAt)}; decide with:`, `    ${decideCommand("approve", a.approvalId, gateway)}`, `    ${decideCommand("deny", a.approvalId, gateway)}`);
  } else {
    lines.push(`  ${stateName(a.state)}${a.decidedBy === "" ? "" : ` by ${a.decidedBy}`} at ${timeOf(a.decidedAt)}: ${a.decisionReason}`);
  }
  return lines;
}

/** The command that decides `approvalId`, as typed from the repository's folder. */
export function decideCommand(verb: "approve" | "deny", approvalId: string, gateway: string): string {
  const reason = verb === "approve" ? "reviewed the request" : "not now";
  return `./bin/agentmesh.js approvals ${verb} ${approvalId} --reason "${reason}"${gateway === defaultGateway ? "" : ` --gateway ${gateway}`}`;
}

function stateName(state: ApprovalState): string {
  return (ApprovalState[state] ?? "unspecified").toLowerCase();
}

function timeOf(t: Approval["createdAt"]): string {
  return t === undefined ? "?" : timestampDate(t).toISOString();
}
