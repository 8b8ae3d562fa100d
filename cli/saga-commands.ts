/**
 * `agentmesh sagas`: start an event-driven saga and follow it.
 *
 *   agentmesh sagas start NAME --input file.json [--saga-id ID] [--wait]
 *   agentmesh sagas get ID [--json]
 *
 * Both call the sagas service's SagaService (services/sagas) as the operator
 * (role supervisor; AGENTMESH_TOKEN when set). Policy decides who may start a
 * saga (intent `saga.<name>`); its steps run under the saga coordinator's own
 * identity, and a step that policy holds for a human waits in
 * `agentmesh approvals list` until an approver decides it.
 */
import { readFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { Option } from "commander";
import type { Command } from "commander";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SagaActionState, SagaSchema, SagaService, SagaStatus } from "../gen/agentmesh/v1/saga_pb.js";
import type { Saga, SagaAction, SagaTrailEntry } from "../gen/agentmesh/v1/saga_pb.js";
import { joinAddress, splitAddress } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { cliAuth } from "./cli-identity.js";
import type { CliConfig } from "./config.js";
import { callGateway } from "./gateway-call.js";

/** How far above the gateway's gRPC port `agentmesh up` serves the sagas service: 7070 → 7092, the service's own default (services/sagas/config.ts). */
const sagasPortOffset = 22;

/** Where `agentmesh up` serves the sagas service for a gateway at `gatewayAddress`: the same host, the gateway's port + 22. */
export function sagasAddressFor(gatewayAddress: string): string {
  const { host, port } = splitAddress(gatewayAddress);
  return joinAddress(host, port + sagasPortOffset);
}

/** How long one call may take. */
const callTimeoutMs = 10_000;

/** Adds `sagas start|get` to `program`. */
export function registerSagaCommands(program: Command, config: CliConfig): void {
  const sagasOption = () => new Option("--sagas <host:port>", "gRPC address of the sagas service (default: where `agentmesh up` runs it, the gateway's port + 22)").default(sagasAddressFor(config.gatewayAddress));
  const sagas = program.command("sagas").description("start event-driven sagas and follow their steps, compensations and trail");
  const options = () => callOptions(config);

  sagas
    .command("start")
    .description("start a saga, e.g. campaign-launch")
    .argument("<name>")
    .requiredOption("--input <file>", "JSON file with the saga's input")
    .option("--saga-id <id>", "idempotency key (default: <name>-<uuid>)")
    .option("--wait", "follow the saga until it ends, printing its trail")
    .addOption(sagasOption())
    .action((name: string, o: { input: string; sagaId?: string; wait?: boolean; sagas: string }) =>
      callGateway(o.sagas, async (client) => {
        const input = JSON.parse(await readFile(o.input, "utf8")) as Record<string, unknown>;
        const sagaId = o.sagaId ?? `${name}-${randomUUID()}`;
        const res = await startSaga(client, config, name, input, sagaId);
        process.stdout.write(`${res.alreadyStarted ? "already started" : "started"}: saga ${sagaId} (${name})\n`);
        process.stdout.write(`follow it with: agentmesh sagas get ${sagaId}; steps held for a human wait in: agentmesh approvals list\n`);
        if (o.wait === true) process.stdout.write(formatSaga(await follow(client, sagaId, options), false).join("\n") + "\n");
      }),
    );

  sagas
    .command("get")
    .description("print a saga's status, steps and trail")
    .argument("<saga-id>")
    .option("--json", "print the saga as proto JSON")
    .addOption(sagasOption())
    .action((sagaId: string, o: { json?: boolean; sagas: string }) =>
      callGateway(o.sagas, async (client) => {
        const { saga } = await client.unary(SagaService.method.getSaga, { sagaId }, await options());
        process.stdout.write(o.json === true ? toJsonString(SagaSchema, saga!, { prettySpaces: 2 }) + "\n" : formatSaga(saga!).join("\n") + "\n");
      }),
    );
}

/** Starts saga `name` with `input` under `sagaId` at the sagas service `client` calls, as operator. */
export async function startSaga(client: GrpcClient, config: CliConfig, name: string, input: Record<string, unknown>, sagaId: string) {
  return client.unary(SagaService.method.startSaga, { sagaId, name, input: input as never }, await callOptions(config));
}

/** The metadata and deadline of a call of these commands, as operator. */
async function callOptions(config: CliConfig): Promise<{ metadata: Record<string, string>; deadline: number }> {
  return { metadata: await cliAuth(config, "operator"), deadline: Date.now() + callTimeoutMs };
}

/** Polls the saga every 500 ms, printing each new trail entry, until it ends; resolves to its last state. */
async function follow(client: GrpcClient, sagaId: string, options: () => Promise<{ metadata: Record<string, string>; deadline: number }>): Promise<Saga> {
  let printed = 0;
  for (;;) {
    const { saga } = await client.unary(SagaService.method.getSaga, { sagaId }, await options());
    for (const e of saga!.trail.slice(printed)) process.stdout.write(formatTrailEntry(e) + "\n");
    printed = saga!.trail.length;
    if (isEnded(saga!.status)) return saga!;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function isEnded(status: SagaStatus): boolean {
  return status === SagaStatus.COMPLETED || status === SagaStatus.COMPENSATED || status === SagaStatus.FAILED;
}

/** The lines `sagas get` prints: a header, one line per step (and its compensation), and the trail unless `withTrail` is false. */
export function formatSaga(saga: Saga, withTrail = true): string[] {
  const lines = [`saga ${saga.sagaId}  ${saga.name}  ${lower(SagaStatus[saga.status])}  (started by ${saga.startedBy}; trace ${saga.traceId})`];
  for (const s of saga.steps) {
    lines.push(`  ${s.name}: ${formatAction(s.action!)}`);
    if (s.compensation!.state !== SagaActionState.PENDING) lines.push(`    undo: ${formatAction(s.compensation!)}`);
  }
  if (!withTrail) return lines;
  lines.push("trail:");
  for (const e of saga.trail) lines.push(`  ${formatTrailEntry(e)}`);
  return lines;
}

function formatAction(a: SagaAction): string {
  const attempts = a.attempts === 0 ? "" : ` (${a.attempts} attempt${a.attempts === 1 ? "" : "s"})`;
  const by = a.agent === "" ? "" : ` by ${a.agent}`;
  const error = a.errorCode === "" ? "" : `: ${a.errorCode}${a.errorReason === "" ? "" : ` (${a.errorReason})`} ${a.errorMessage}`;
  return `${a.intent} ${lower(SagaActionState[a.state])}${by}${attempts}  task ${a.taskId}${error}`;
}

function formatTrailEntry(e: SagaTrailEntry): string {
  const time = e.time === undefined ? "" : timestampDate(e.time).toISOString();
  return `${String(e.seq).padStart(3)}  ${time}  ${e.event}${e.step === "" ? "" : ` ${e.step}`}  ${e.detail}`;
}

function lower(name: string | undefined): string {
  return (name ?? "unspecified").toLowerCase();
}
