/**
 * Facts the deploy tests take from the repository itself rather than from a
 * second list: image versions from the pinned tools and package.json, and
 * which agents are workers from their own code.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../../tools/tool-path.js";
import { servicePorts } from "../../../services/shared/service-config.js";

/** The version a tool module (tools/<tool>/go.mod) requires of `module`. */
export async function goModVersion(tool: string, module: string): Promise<string> {
  const text = await readFile(join(repoRoot, "tools", tool, "go.mod"), "utf8");
  const m = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/[.]/g, "\\.")}\\s+(v\\S+)`, "m").exec(text);
  if (m === null) throw new Error(`tools/${tool}/go.mod does not require ${module}`);
  return m[1]!;
}

/**
 * The image tag every image reference must carry, by image name:
 * - agentmesh: the version in package.json;
 * - nats: the nats-server release tools/nats-server pins, alpine variant;
 * - jaegertracing/jaeger: the Jaeger v2 release of the Go module tools/jaeger
 *   pins (Jaeger tags each release twice, v1.<63+n>.p and v2.n.p: v1.76.0 is 2.13.0);
 * - otel/opentelemetry-collector-contrib: the collector-contrib release that
 *   Jaeger's own collector components come from (tools/jaeger/go.mod).
 */
export async function expectedImageTags(): Promise<Record<string, string>> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version: string };
  const nats = await goModVersion("nats-server", "github.com/nats-io/nats-server/v2");
  const jaeger = /^v1\.(\d+)\.(\d+)$/.exec(await goModVersion("jaeger", "github.com/jaegertracing/jaeger"));
  if (jaeger === null) throw new Error("tools/jaeger/go.mod: expected github.com/jaegertracing/jaeger v1.x.y");
  const contrib = await goModVersion("jaeger", "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter");
  return {
    agentmesh: pkg.version,
    nats: `${nats.slice(1)}-alpine`,
    "jaegertracing/jaeger": `2.${Number(jaeger[1]) - 63}.${jaeger[2]}`,
    "otel/opentelemetry-collector-contrib": contrib.slice(1),
  };
}

/** The agents whose own code gives them the worker role (services/<name>/agent.ts). */
export async function workerAgents(): Promise<string[]> {
  const workers: string[] = [];
  for (const name of Object.keys(servicePorts)) {
    const code = await readFile(join(repoRoot, "services", name, "agent.ts"), "utf8");
    const role = /\brole:\s*"([a-z]+)"/.exec(code)?.[1];
    if (role === undefined) throw new Error(`services/${name}/agent.ts names no role`);
    if (role === "worker") workers.push(name);
  }
  return workers;
}
