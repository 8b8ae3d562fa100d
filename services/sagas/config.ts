/**
 * Settings of the sagas service, read from the environment in this one place:
 * the mesh settings (mesh/config.ts, including the queue backend AGENTMESH_QUEUE*)
 * with its default ports, plus the coordinator's.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_SAGA_MAX_ATTEMPTS | 4 | deliveries of a step before it fails for good (below AGENTMESH_QUEUE_MAX_DELIVERIES) |
 * | AGENTMESH_SAGA_STEP_TIMEOUT_MS | 600000 | deadline of one step's delegation once it runs |
 * | AGENTMESH_SAGA_HEARTBEAT_MS | a third of AGENTMESH_QUEUE_ACK_WAIT_MS, at most 5000 | how often a running step extends its delivery |
 */
import { readMeshConfig } from "../../mesh/index.js";
import type { MeshConfig } from "../../mesh/index.js";

/** Default ports of the sagas service (gRPC, Connect). */
export const sagasPorts = [7092, 7093] as const;

/** The subject of the coordinator's token: a service identity, not an agent (it is in no offers file). */
export const coordinatorSubject = "saga-coordinator";

/** Fully populated settings of the sagas service. */
export interface SagasConfig extends MeshConfig {
  readonly maxStepAttempts: number;
  readonly stepTimeoutMs: number;
  readonly heartbeatMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the settings; throws naming a malformed variable. */
export function readSagasConfig(env: Env): SagasConfig {
  const mesh = readMeshConfig(env, { grpcAddress: `127.0.0.1:${sagasPorts[0]}`, connectAddress: `127.0.0.1:${sagasPorts[1]}` });
  const maxStepAttempts = positiveInt(env, "AGENTMESH_SAGA_MAX_ATTEMPTS", 4);
  if (maxStepAttempts >= mesh.queue.settings.maxDeliveries) {
    throw new Error(`AGENTMESH_SAGA_MAX_ATTEMPTS (${maxStepAttempts}) must be below AGENTMESH_QUEUE_MAX_DELIVERIES (${mesh.queue.settings.maxDeliveries}): a step must fail for good before its event is dead-lettered`);
  }
  return {
    ...mesh,
    maxStepAttempts,
    stepTimeoutMs: positiveInt(env, "AGENTMESH_SAGA_STEP_TIMEOUT_MS", 600_000),
    heartbeatMs: positiveInt(env, "AGENTMESH_SAGA_HEARTBEAT_MS", Math.max(1, Math.min(5000, Math.floor(mesh.queue.settings.ackWaitMs / 3)))),
  };
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return n;
}
