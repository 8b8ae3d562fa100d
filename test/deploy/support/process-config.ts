/**
 * A mesh process's settings as its own entry point reads them: the gateway's
 * reader (gateway/config.ts), a service's own config.ts when it has one, else
 * the agents' shared reader (services/shared/service-config.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readGatewayConfig } from "../../../gateway/config.js";
import { readServiceConfig } from "../../../services/shared/service-config.js";
import type { ServiceName } from "../../../services/shared/service-config.js";
import { splitAddress } from "../../../mesh/index.js";
import type { MeshConfig } from "../../../mesh/index.js";
import { repoRoot } from "../../../tools/tool-path.js";

/** Reads `env` with the reader the entry point of mesh process `name` uses. */
export async function readProcessConfig(name: string, env: Record<string, string>): Promise<MeshConfig> {
  if (name === "gateway") return readGatewayConfig(env);
  const own = join(repoRoot, "services", name, "config.ts");
  if (existsSync(own)) {
    const module = (await import(own)) as Record<string, unknown>;
    const readers = Object.entries(module).filter(([key, value]) => /^read[A-Z]\w*Config$/.test(key) && typeof value === "function");
    if (readers.length !== 1) throw new Error(`services/${name}/config.ts should export one read...Config function`);
    return (readers[0]![1] as (e: typeof env) => MeshConfig)(env);
  }
  return readServiceConfig(name as ServiceName, env);
}

/** The ports a mesh process listens on when its environment sets none (gRPC, Connect, the gateway's artifacts). */
export async function defaultPorts(name: string): Promise<number[]> {
  const config = await readProcessConfig(name, {});
  const artifacts = (config as { artifacts?: { address: string } }).artifacts?.address;
  return [config.grpcAddress, config.connectAddress, artifacts].filter((a) => a !== undefined).map((a) => splitAddress(a).port);
}
