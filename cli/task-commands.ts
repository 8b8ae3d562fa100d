/**
 * `agentmesh tasks`: queued work (Delegate with mode QUEUED) as its delegator
 * sees it, through the gateway's QueueService and DelegationService.
 *
 *   agentmesh tasks list [--intent X] [--state queued|working|completed|failed|...]
 *   agentmesh tasks get TASK_ID [--json] [--watch]
 *   agentmesh tasks dlq [--intent X]
 *   agentmesh tasks retry TASK_ID
 *
 * Each command calls as `operator` (role supervisor; cli/cli-identity.ts), or as
 * AGENTMESH_TOKEN's subject when set: a caller sees and re-drives its own tasks.
 */
import { InvalidArgumentError, Option } from "commander";
import type { Command } from "commander";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { QueueService } from "../gen/agentmesh/v1/queue_pb.js";
import { ResultSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { stateName } from "../mesh/index.js";
import { cliAuth } from "./cli-identity.js";
import { printResult } from "./cli-output.js";
import type { CliConfig } from "./config.js";
import { callGateway } from "./gateway-call.js";

/** How long a call of these commands may take (a `--watch` follows until the task ends). */
const callTimeoutMs = 10_000;

/** `--state` values. */
const stateChoices: Readonly<Record<string, TaskState>> = {
  all: TaskState.UNSPECIFIED,
  queued: TaskState.QUEUED,
  working: TaskState.WORKING,
  completed: TaskState.COMPLETED,
  failed: TaskState.FAILED,
  rejected: TaskState.REJECTED,
  canceled: TaskState.CANCELED,
};

/** Adds `tasks list|get|dlq|retry` to `program`; `gatewayOption` makes each command's `--gateway` option. */
export function registerTaskCommands(program: Command, config: CliConfig, gatewayOption: () => Option): void {
  const tasks = program.command("tasks").description("queued tasks: list them, follow one, and show and re-drive the dead-letter queue");
  const auth = () => cliAuth(config, "operator");

  tasks
    .command("list")
    .description("list queued tasks, newest first")
    .option("--intent <intent>", "only tasks of this intent")
    .addOption(new Option("--state <state>", "only tasks in this state").choices(Object.keys(stateChoices)).default("all"))
    .option("--limit <n>", "at most this many (1-1000)", parseLimit, 100)
    .addOption(gatewayOption())
    .action((o: { intent?: string; state: string; limit: number; gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        const res = await client.unary(QueueService.method.listTasks, { intent: o.intent ?? "", state: stateChoices[o.state]!, limit: o.limit }, {
          metadata: await auth(), deadline: Date.now() + callTimeoutMs,
        });
        if (res.tasks.length === 0) process.stdout.write("no queued tasks\n");
        for (const t of res.tasks) process.stdout.write(formatTaskLine(t.result!) + "\n");
      }),
    );

  tasks
    .command("get")
    .description("print a task's result in any state; --watch follows it to its end")
    .argument("<task-id>")
    .option("--json", "print the result as proto JSON")
    .option("--watch", "print each state change until the task ends")
    .addOption(gatewayOption())
    .action((taskId: string, o: { json?: boolean; watch?: boolean; gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        let result: Result;
        if (o.watch === true) {
          let last: Result | undefined;
          for await (const ev of client.serverStream(DelegationService.method.watchResult, { taskId }, { metadata: await auth() })) {
            last = ev.result!;
            if (o.json !== true) process.stdout.write(`${new Date().toISOString()}  ${stateName(ev.state)}  ${ev.message}\n`);
          }
          result = last!;
        } else {
          result = await client.unary(DelegationService.method.getResult, { taskId }, { metadata: await auth(), deadline: Date.now() + callTimeoutMs });
        }
        if (o.json === true) process.stdout.write(toJsonString(ResultSchema, result, { prettySpaces: 2 }) + "\n");
        else printResult(result);
      }),
    );

  tasks
    .command("dlq")
    .description("list the dead-letter queue: tasks that ran out of attempts, with every attempt's reason")
    .option("--intent <intent>", "only dead letters of this intent")
    .addOption(gatewayOption())
    .action((o: { intent?: string; gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        const res = await client.unary(QueueService.method.listDeadLetters, { intent: o.intent ?? "" }, { metadata: await auth(), deadline: Date.now() + callTimeoutMs });
        if (res.deadLetters.length === 0) process.stdout.write("the dead-letter queue is empty\n");
        for (const d of res.deadLetters) {
          const at = d.deadAt === undefined ? "" : timestampDate(d.deadAt).toISOString();
          process.stdout.write(`${d.taskId}  ${d.intent}  ${d.attempts} attempt(s)  dead since ${at}  (owner ${d.owner})\n`);
          d.errors.forEach((e, n) => process.stdout.write(`  attempt ${n + 1}: ${e}\n`));
          process.stdout.write(`  re-drive: agentmesh tasks retry ${d.taskId}\n`);
        }
      }),
    );

  tasks
    .command("retry")
    .description("put a dead-lettered task back on its queue with a fresh attempt count and new credentials")
    .argument("<task-id>")
    .addOption(gatewayOption())
    .action((taskId: string, o: { gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        const res = await client.unary(QueueService.method.retryDeadLetter, { taskId }, { metadata: await auth(), deadline: Date.now() + callTimeoutMs });
        process.stdout.write(`${formatTaskLine(res.result!)}\nfollow it: agentmesh tasks get ${taskId} --watch\n`);
      }),
    );
}

/** `--limit`: an integer from 1 to 1000. */
function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError("must be an integer from 1 to 1000");
  return n;
}

/** One line per task: id, intent, state, agent, and the error's reason when it has one. */
export function formatTaskLine(r: Result): string {
  const created = r.createdAt === undefined ? "" : timestampDate(r.createdAt).toISOString();
  const error = r.error === undefined ? "" : `  ${r.error.reason || r.error.code}: ${r.error.message}`;
  return `${r.taskId}  ${r.intent}  ${stateName(r.state)}  ${r.agent}  ${created}${error}`;
}
