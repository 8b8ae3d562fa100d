/**
 * What `agentmesh demo` does once the mesh is up and the campaign goal is
 * delegated: while the campaign runs, it watches the gateway for approvals its
 * sub-tasks wait for (under the bundled policy `content.publish` is high risk, so
 * the publish step waits for a human) and prints, for each, the result tree as it
 * stands and the exact commands that decide it. When the campaign ends it prints
 * the final tree.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { create } from "@bufbuild/protobuf";
import { ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import type { Approval } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { ResultSchema, SubTaskSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { createGrpcClient } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { formatApproval, listApprovals } from "./approval-commands.js";
import { cliAuth } from "./cli-identity.js";
import { printError, printResult } from "./cli-output.js";
import type { CliConfig } from "./config.js";
import { formatResultTree } from "./result-tree.js";

/** Options of `followDemo`. */
export interface DemoOptions {
  readonly config: CliConfig;
  /** gRPC address of the gateway. */
  readonly gateway: string;
  /** The campaign's task id (its sub-tasks carry it as their correlation id). */
  readonly taskId: string;
  /** The Delegate call of the campaign, under way. */
  readonly campaign: Promise<Result>;
  /** How long the campaign may take, for the message; ms. */
  readonly timeoutMs: number;
  /** How often to look for new approvals; default 500 ms. */
  readonly pollMs?: number;
}

/** Follows the demo campaign until it ends; never throws (failures are printed). */
export async function followDemo(o: DemoOptions): Promise<void> {
  const client = createGrpcClient(o.gateway);
  const ended = new AbortController();
  const watching = watchApprovals(client, o, ended.signal);
  try {
    const result = await o.campaign;
    process.stdout.write("\nthe campaign ended:\n\n");
    printResult(result);
  } catch (err) {
    printError(err);
  } finally {
    ended.abort();
    await watching;
    client.close();
  }
}

/** Prints the waiting tree each time a new approval of the campaign's sub-tasks is pending, until `signal` aborts. */
async function watchApprovals(client: GrpcClient, o: DemoOptions, signal: AbortSignal): Promise<void> {
  const shown = new Set<string>();
  while (!signal.aborted) {
    try {
      const pending = (await listApprovals(client, o.config, ApprovalState.PENDING)).filter((a) => a.correlationId === o.taskId);
      if (!signal.aborted && pending.some((a) => !shown.has(a.approvalId))) {
        for (const a of pending) shown.add(a.approvalId);
        printWaiting(await campaignNow(client, o), pending, o);
      }
    } catch (err) {
      if (signal.aborted) return;
      process.stderr.write("could not look for approvals the campaign waits for (see `agentmesh approvals list`):\n");
      printError(err);
      return;
    }
    await sleep(o.pollMs ?? 500, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * The campaign's result at the gateway as it stands, naming the agents that offer
 * its intent: until the task ends, the gateway's record names the gateway itself.
 */
async function campaignNow(client: GrpcClient, o: DemoOptions): Promise<Result> {
  const call = { metadata: await cliAuth(o.config, "operator"), deadline: Date.now() + 10_000 };
  const campaign = await client.unary(DelegationService.method.getResult, { taskId: o.taskId }, call);
  const { agents } = await client.unary(RegistryService.method.listAgents, { intent: campaign.intent }, call);
  return create(ResultSchema, { ...campaign, agent: agents.map((a) => a.card?.name ?? "?").join(", ") });
}

/**
 * Prints the campaign as it stands with the sub-tasks waiting for a human under
 * it (the gateway holds them; the campaign's own sub-task record is written when
 * it ends), then each approval with the commands that decide it.
 */
function printWaiting(campaign: Result, pending: readonly Approval[], o: DemoOptions): void {
  const tree = create(ResultSchema, {
    ...campaign,
    subtasks: pending.map((a) => create(SubTaskSchema, { taskId: a.taskId, intent: a.intent, agent: a.targets.join(","), state: TaskState.AWAITING_APPROVAL })),
  });
  process.stdout.write(`\nthe campaign waits for a human: policy holds ${pending.map((a) => `${a.intent} (task ${a.taskId})`).join(", ")} for approval\n\n`);
  process.stdout.write(formatResultTree(tree).join("\n") + "\n\n");
  for (const a of pending) process.stdout.write(formatApproval(a, o.gateway).join("\n") + "\n\n");
  process.stdout.write(`run one of these from another shell in this folder; the campaign goes on once every approval is decided (it waits up to ${Math.round(o.timeoutMs / 60_000)} min)\n`);
}
