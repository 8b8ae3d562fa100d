/**
 * A real Jaeger v2 for tests: the pinned binary (tools/jaeger, built by the
 * global setup) on loopback with free ports, memory storage, ready to receive
 * OTLP/gRPC and to answer its query API; `stop()` ends it and removes its folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testToolPath } from "../../tools/test-tools.js";
import { startJaeger } from "../../cli/jaeger.js";
import type { JaegerPorts, RunningJaeger } from "../../cli/jaeger.js";

/** `count` distinct free loopback ports, all held until every one is chosen, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    ports.push((server.address() as { port: number }).port);
  }
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Free loopback ports for every listener of a Jaeger. */
export async function freeJaegerPorts(): Promise<JaegerPorts> {
  const [otlpGrpc, otlpHttp, queryHttp, queryGrpc, health] = (await freePorts(5)) as [number, number, number, number, number];
  return { otlpGrpc, otlpHttp, queryHttp, queryGrpc, health };
}

/** Starts the pinned Jaeger on free loopback ports; its log goes to `print` (default: dropped). */
export async function startTestJaeger(print?: (line: string) => void): Promise<RunningJaeger> {
  const dir = mkdtempSync(join(tmpdir(), "agentmesh-jaeger-"));
  try {
    const jaeger = await startJaeger({ binary: testToolPath("jaeger"), dir, ports: await freeJaegerPorts(), ...(print === undefined ? {} : { print }) });
    return {
      ...jaeger,
      async stop(graceMs?: number) {
        await jaeger.stop(graceMs);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
