/**
 * Settings of every agent service, read from the environment in this one place:
 * the mesh settings (mesh/config.ts) with each service's default ports, plus the
 * publisher's outbox.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_OUTBOX_DIR | $AGENTMESH_HOME/outbox | where content.publish writes |
 */
import { join } from "node:path";
import { readMeshConfig } from "../../mesh/index.js";
import type { MeshConfig } from "../../mesh/index.js";

/** Default ports of each service when run alone (gRPC, Connect); the gateway has 7070/7071. */
export const servicePorts = {
  supervisor: [7080, 7081],
  summarizer: [7082, 7083],
  copywriter: [7084, 7085],
  segmenter: [7086, 7087],
  publisher: [7088, 7089],
  budgeter: [7090, 7091],
} as const;

/** A service name of `servicePorts`. */
export type ServiceName = keyof typeof servicePorts;

/** Fully populated settings of one agent service. */
export interface ServiceConfig extends MeshConfig {
  readonly outboxDir: string;
}

/** Reads the settings of `service` from `env`. */
export function readServiceConfig(service: ServiceName, env: Readonly<Record<string, string | undefined>>): ServiceConfig {
  const [grpc, connect] = servicePorts[service];
  const mesh = readMeshConfig(env, { grpcAddress: `127.0.0.1:${grpc}`, connectAddress: `127.0.0.1:${connect}` });
  return { ...mesh, outboxDir: env.AGENTMESH_OUTBOX_DIR ?? join(mesh.home, "outbox") };
}
