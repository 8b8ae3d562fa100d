/**
 * The `agentmesh` command.
 *
 *   agentmesh up                       start the gateway and every agent on loopback
 *   agentmesh demo                     up, then delegate the demo goal and print the result tree
 *   agentmesh delegate --intent X --input file.json
 *   agentmesh result TASK_ID           the result of a task, in any state
 *   agentmesh agents                   the agents and replicas the gateway knows
 *   agentmesh delegate --intent X --input file.json --queued   accepted at once; follow it with `tasks get ID --watch`
 *   agentmesh tasks list|get|dlq|retry   queued tasks and the dead-letter queue (cli/task-commands.ts)
 *   agentmesh artifacts put FILE --task ID | get URI   large inputs and outputs by signed link (cli/artifact-commands.ts)
 *   agentmesh approvals list|approve|deny   human decisions on what policy held back (cli/approval-commands.ts)
 *   agentmesh sagas start NAME --input file.json | get ID   event-driven sagas (cli/saga-commands.ts)
 *   agentmesh trace ID                 a delegation's trace as a tree, from the local span stores (cli/trace-command.ts)
 *   agentmesh report [--since 1h]      SLA hit rate, escalation rate, cost per successful task per intent and agent (cli/report-command.ts)
 *   agentmesh token issue --subject NAME --role ROLE
 *
 * Delegations and reads go as `operator` (role supervisor), approvals as USER
 * (role approver); see cli/cli-identity.ts.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { toJsonString } from "@bufbuild/protobuf";
import { ApprovalState } from "../gen/agentmesh/v1/approval_pb.js";
import { DelegationService } from "../gen/agentmesh/v1/delegation_pb.js";
import { DelegationMode, ResultSchema, TaskState } from "../gen/agentmesh/v1/task_pb.js";
import type { Result } from "../gen/agentmesh/v1/task_pb.js";
import { RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { createGrpcClient, ensureDevKeys, issueToken, loadSigningKey, roles } from "../mesh/index.js";
import type { GrpcClient, Role } from "../mesh/index.js";
import { formatApproval, listApprovals, registerApprovalCommands } from "./approval-commands.js";
import { registerArtifactCommands } from "./artifact-commands.js";
import { registerTaskCommands } from "./task-commands.js";
import { cliAuth } from "./cli-identity.js";
import { printError, printResult } from "./cli-output.js";
import { readCliConfig } from "./config.js";
import type { CliConfig } from "./config.js";
import { followDemo } from "./follow-demo.js";
import { callGateway } from "./gateway-call.js";
import { startMeshProcesses } from "./mesh-processes.js";
import { repoRoot } from "./process-group.js";
import { registerPolicyCommands } from "./policy-commands.js";
import { registerTraceCommand } from "./trace-command.js";
import { registerReportCommand } from "./report-command.js";
import { registerSagaCommands, sagasAddressFor, startSaga } from "./saga-commands.js";

/**
 * How long the demo campaign may take: long enough for a person to read and
 * approve the publish step it waits for. It is the campaign's deadline, and so
 * the deadline of its sub-tasks.
 */
const demoTimeoutMs = 60 * 60_000;

/** The command with its subcommands; `config` holds everything read from the environment. */
function createProgram(config: CliConfig): Command {
  const gatewayOption = () => new Option("--gateway <host:port>", "gRPC address of the gateway").default(config.gatewayAddress);

  const program = new Command("agentmesh").description("A gRPC service mesh in which AI agents delegate tasks to other agents safely.");

  program
    .command("token")
    .description("bearer tokens")
    .command("issue")
    .description("mint a token from the local development key")
    .requiredOption("--subject <name>", "the caller's name")
    .addOption(new Option("--role <role>", "the caller's role").choices([...roles]).makeOptionMandatory())
    .option("--ttl <seconds>", "lifetime in seconds", "3600")
    .option("--audience <aud>", "who accepts the token: agentmesh (every mesh service) or agentmesh:<agent> (that agent only; a gateway-role token must name one agent)", "agentmesh")
    .action(async (o: { subject: string; role: Role; ttl: string; audience: string }) => {
      const ttlSeconds = Number(o.ttl);
      if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) throw new InvalidArgumentError("--ttl must be a positive whole number of seconds");
      if (o.audience !== "agentmesh" && !/^agentmesh:[a-z][a-z0-9-]{0,62}$/.test(o.audience)) {
        throw new InvalidArgumentError("--audience must be agentmesh or agentmesh:<agent name>");
      }
      const { signingKeyPath } = await ensureDevKeys(join(config.home, "keys"));
      process.stdout.write((await issueToken(await loadSigningKey(signingKeyPath), { subject: o.subject, role: o.role, ttlSeconds, audience: o.audience })) + "\n");
    });

  const upOptions = (cmd: Command) =>
    cmd.option("--port <port>", "gateway gRPC port", "7070").option("--connect-port <port>", "gateway Connect / gRPC-Web port", "7071")
      .option("--jaeger", "also start a local Jaeger (OTLP on 127.0.0.1:4317, UI and API on http://127.0.0.1:16686) and send every service's spans to it");

  upOptions(program.command("up").description("start the gateway and every agent as separate processes on loopback")).action(async (o: UpOptions) => {
    const mesh = await up(o, config.home);
    process.stdout.write(`agentmesh is up: gRPC 127.0.0.1:${o.port}, Connect/gRPC-Web http://127.0.0.1:${o.connectPort}${mesh.jaeger === undefined ? "" : `, Jaeger ${mesh.jaeger.queryUrl}`} — Ctrl-C stops it\n`);
    stopOnSignal(() => mesh.stop());
  });

  upOptions(program.command("demo").description("start the mesh, delegate the demo campaign goal, show what waits for approval, print the result tree, keep serving")).action(async (o: UpOptions) => {
    const mesh = await up(o, config.home);
    stopOnSignal(() => mesh.stop());
    const inputs = JSON.parse(await readFile(join(repoRoot, "examples/campaign-launch.json"), "utf8")) as Record<string, unknown>;
    const taskId = `demo-${randomUUID()}`;
    process.stdout.write(`\ndelegating campaign.launch to the supervisor through the gateway at ${mesh.gatewayAddress} as operator (task ${taskId}) ...\n`);
    const campaign = delegate(config, mesh.gatewayAddress, "campaign.launch", inputs, taskId, demoTimeoutMs);
    await followDemo({ config, gateway: mesh.gatewayAddress, taskId, campaign, timeoutMs: demoTimeoutMs });
    await startDemoSaga(config, mesh.gatewayAddress);
    process.stdout.write(`\nthe mesh keeps serving on 127.0.0.1:${o.port} (gRPC) and 127.0.0.1:${o.connectPort} (Connect) — Ctrl-C stops it\n`);
  });

  program
    .command("delegate")
    .description("delegate a task through the gateway and print its result")
    .requiredOption("--intent <intent>", "intent to execute, e.g. copy.draft")
    .requiredOption("--input <file>", "JSON file with the inputs ('-' for standard input)")
    .option("--task-id <id>", "idempotency key (default: a new UUID)")
    .option("--timeout <ms>", "deadline of the call", "60000")
    .option("--json", "print the result as proto JSON")
    .option("--queued", "queue the task (mode QUEUED): answered at once; follow it with `agentmesh tasks get ID --watch`")
    .addOption(gatewayOption())
    .action(async (o: { intent: string; input: string; taskId?: string; timeout: string; json?: boolean; queued?: boolean; gateway: string }) => {
      const text = o.input === "-" ? await readStdin() : await readFile(o.input, "utf8");
      try {
        const mode = o.queued === true ? DelegationMode.QUEUED : DelegationMode.SYNC;
        const result = await delegate(config, o.gateway, o.intent, JSON.parse(text) as Record<string, unknown>, o.taskId ?? randomUUID(), Number(o.timeout), mode);
        if (o.json === true) process.stdout.write(toJsonString(ResultSchema, result, { prettySpaces: 2 }) + "\n");
        else printResult(result);
        if (o.json !== true && result.state === TaskState.AWAITING_APPROVAL) await callGateway(o.gateway, (client) => printHeld(client, config, result.taskId, o.gateway));
      } catch (err) {
        printError(err);
        process.exitCode = 1;
      }
    });

  program
    .command("result")
    .description("print the result of a task in any state")
    .argument("<task-id>")
    .option("--json", "print the result as proto JSON (every field, e.g. the error's reason)")
    .addOption(gatewayOption())
    .action((taskId: string, o: { gateway: string; json?: boolean }) =>
      callGateway(o.gateway, async (client) => {
        const result = await client.unary(DelegationService.method.getResult, { taskId }, { metadata: await cliAuth(config, "operator"), deadline: Date.now() + 10_000 });
        if (o.json === true) process.stdout.write(toJsonString(ResultSchema, result, { prettySpaces: 2 }) + "\n");
        else printResult(result);
      }),
    );

  program
    .command("agents")
    .description("list the agents and replicas the gateway routes to")
    .addOption(gatewayOption())
    .action((o: { gateway: string }) =>
      callGateway(o.gateway, async (client) => {
        const res = await client.unary(RegistryService.method.listAgents, {}, { metadata: await cliAuth(config, "operator"), deadline: Date.now() + 10_000 });
        for (const a of res.agents) {
          process.stdout.write(`${a.card!.name}  intents: ${a.card!.intents.map((i) => i.name).join(", ")}\n`);
          for (const i of a.instances) process.stdout.write(`  ${i.instanceId}  ${i.endpoints.map((e) => e.address).join(" ")}  ${i.healthy ? "healthy" : "backing off"}\n`);
        }
      }),
    );

  registerApprovalCommands(program, config, gatewayOption);
  registerArtifactCommands(program, config);
  registerTaskCommands(program, config, gatewayOption);

  registerPolicyCommands(program);
  registerTraceCommand(program, config);
  registerReportCommand(program, config);
  registerSagaCommands(program, config);
  return program;
}

/** Prints the pending approval a delegated task waits for, with the commands that decide it. */
async function printHeld(client: GrpcClient, config: CliConfig, taskId: string, gateway: string): Promise<void> {
  const held = (await listApprovals(client, config, ApprovalState.PENDING)).filter((a) => a.taskId === taskId);
  process.stdout.write(`\npolicy holds task ${taskId} for a human decision; it runs once an approver approves it:\n\n`);
  for (const a of held) process.stdout.write(formatApproval(a, gateway).join("\n") + "\n");
}

interface UpOptions {
  port: string;
  connectPort: string;
  jaeger?: boolean;
}

async function up(o: UpOptions, home: string) {
  const tty = process.stdout.isTTY;
  return startMeshProcesses({ gatewayPort: Number(o.port), connectPort: Number(o.connectPort), home, print: (l) => process.stdout.write(l + "\n"), tty, jaeger: o.jaeger === true });
}

/** Delegates a task through the gateway as the operator; resolves to its result (AWAITING_APPROVAL when policy holds it for a human). */
async function delegate(config: CliConfig, gateway: string, intent: string, inputs: Record<string, unknown>, taskId: string, timeoutMs: number, mode = DelegationMode.SYNC): Promise<Result> {
  const client = createGrpcClient(gateway);
  try {
    const res = await client.unary(DelegationService.method.delegate, { taskId, intent, inputs: inputs as never, mode }, { metadata: await cliAuth(config, "operator"), deadline: Date.now() + timeoutMs });
    return res.result!;
  } finally {
    client.close();
  }
}

/**
 * Starts the demo's saga, campaign-launch (examples/campaign-launch-saga.json with
 * a publication slot a week from now, so every run books a free one), and says how
 * to follow it: its publish step waits for a human like the campaign's did.
 */
async function startDemoSaga(config: CliConfig, gatewayAddress: string): Promise<void> {
  const input = JSON.parse(await readFile(join(repoRoot, "examples/campaign-launch-saga.json"), "utf8")) as Record<string, unknown>;
  const publishAt = new Date(Math.floor(Date.now() / 60_000) * 60_000 + 7 * 24 * 3600_000).toISOString().replace(".000Z", "Z");
  const sagaId = `demo-saga-${randomUUID()}`;
  const client = createGrpcClient(sagasAddressFor(gatewayAddress));
  try {
    await startSaga(client, config, "campaign-launch", { ...input, publishAt }, sagaId);
    process.stdout.write([
      "",
      `started the campaign-launch saga ${sagaId}: reserve budget → draft campaign → schedule publish (high risk: it waits for a human)`,
      `  follow it:        ./bin/agentmesh.js sagas get ${sagaId} --sagas ${sagasAddressFor(gatewayAddress)}`,
      `  decide the step:  ./bin/agentmesh.js approvals list --gateway ${gatewayAddress}, then approve it, or deny it and watch the saga withdraw the draft and release the budget`,
      "",
    ].join("\n"));
  } catch (err) {
    process.stderr.write("could not start the demo saga:\n");
    printError(err);
  } finally {
    client.close();
  }
}

function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping ...\n");
    void stop().then(() => process.exit(0));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function fail(err: unknown): never {
  process.stderr.write(`agentmesh: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// The environment is read here, once; a malformed variable stops the command before it runs.
let config: CliConfig;
try {
  config = readCliConfig(process.env);
} catch (err) {
  fail(err);
}
createProgram(config).parseAsync().catch(fail);
