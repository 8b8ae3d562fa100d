/**
 * The environment the manifests give each mesh process, read back through the
 * services' own config readers (gateway/config.ts, services/shared/service-config.ts,
 * a service's own config.ts when it has one): nothing is missing or malformed,
 * every listen address is a declared container port on all interfaces, every
 * address a process dials names a Service whose port leads to the right
 * container port, and every file a process reads (policy bundle, keys, agent
 * offers) is on a volume with the right content.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IPersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import type { IService } from "kubernetes-models/v1/Service";
import { listOverlays } from "../../deploy/render-manifests.js";
import { kubectlSecretCommands, writeDeployKeys } from "../../deploy/deploy-keys.js";
import type { DeployKeys } from "../../deploy/deploy-keys.js";
import { readGatewayConfig } from "../../gateway/config.js";
import { loadPolicyBundle, loadSigningKey, loadVerificationKeys, splitAddress } from "../../mesh/index.js";
import { repoRoot } from "../../tools/tool-path.js";
import { readProcessConfig } from "./support/process-config.js";
import { agentWorkloads, containerPort, find, mainContainer, meshWorkloads, renderedObjects } from "./support/rendered-manifests.js";
import type { K8sObject, Workload } from "./support/rendered-manifests.js";

const overlays = listOverlays();
const podIp = "10.42.0.17";
const podName = (w: Workload) => `${w.metadata.name}-5d8c7b9f4-x2k7q`;

let keysDir: string;
let keys: DeployKeys;
let scratch: string;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "agentmesh-deploy-keys-"));
  keys = await writeDeployKeys(keysDir);
  scratch = await mkdtemp(join(tmpdir(), "agentmesh-deploy-files-"));
});

afterAll(async () => {
  await rm(keysDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

/** Secret name and key -> the file `writeDeployKeys` wrote it from (via the documented kubectl commands). */
function secretFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const cmd of kubectlSecretCommands(keysDir)) {
    const name = / create secret generic (\S+)/.exec(cmd)![1]!;
    for (const m of cmd.matchAll(/--from-file=([^=\s]+)=(\S+)/g)) files.set(`${name}/${m[1]}`, m[2]!);
  }
  return files;
}

/** The container's environment as the kubelet makes it: downward API, Secret keys and $(VAR) references resolved. */
async function containerEnv(w: Workload): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const e of mainContainer(w).env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) => env[name] ?? ref);
    } else if (e.valueFrom?.fieldRef !== undefined) {
      const field = e.valueFrom.fieldRef.fieldPath;
      const values: Record<string, string> = { "metadata.name": podName(w), "metadata.namespace": w.metadata.namespace!, "status.podIP": podIp };
      if (values[field] === undefined) throw new Error(`${w.metadata.name}: unexpected fieldRef ${field}`);
      env[e.name] = values[field];
    } else if (e.valueFrom?.secretKeyRef !== undefined) {
      const file = secretFiles().get(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
      if (file === undefined) throw new Error(`${w.metadata.name}: ${e.name} refers to a Secret key the keys script does not make`);
      env[e.name] = (await readFile(file, "utf8")).trim();
    } else {
      throw new Error(`${w.metadata.name}: ${e.name} has a source the test does not know`);
    }
  }
  return env;
}

/** The port a Service named `host` forwards `port` to, in its target's container. */
function serviceTarget(objects: readonly K8sObject[], host: string, port: number): { workload: Workload; port: number } {
  const service = find<K8sObject & IService>(objects, "Service", host);
  const sp = service.spec!.ports!.find((p) => p.port === port);
  if (sp === undefined) throw new Error(`Service ${host} has no port ${port}`);
  const workload = meshOrAny(objects).find((w) => Object.entries(service.spec!.selector!).every(([k, v]) => w.spec.template.metadata?.labels?.[k] === v));
  if (workload === undefined) throw new Error(`Service ${host} selects no workload`);
  const target = typeof sp.targetPort === "string" ? containerPort(mainContainer(workload), sp.targetPort) : sp.targetPort ?? sp.port;
  return { workload, port: target };
}

function meshOrAny(objects: readonly K8sObject[]): Workload[] {
  return objects.filter((o): o is Workload => o.kind === "Deployment" || o.kind === "StatefulSet");
}

/** Writes the files of a ConfigMap (data and binaryData) into a directory of its own, as a volume would. */
async function materialize(cm: IConfigMap, dir: string): Promise<string> {
  const { mkdir } = await import("node:fs/promises");
  await mkdir(dir, { recursive: true });
  for (const [k, v] of Object.entries(cm.data ?? {})) await writeFile(join(dir, k), v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) await writeFile(join(dir, k), Buffer.from(v, "base64"));
  return dir;
}

/** The volume mount holding `path`, and where inside it `path` is. */
function mountOf(w: Workload, path: string) {
  const mounts = (mainContainer(w).volumeMounts ?? []).filter((m) => path === m.mountPath || path.startsWith(m.mountPath + "/"));
  const mount = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (mount === undefined) return undefined;
  const volume = w.spec.template.spec.volumes?.find((v) => v.name === mount.name);
  return { mount, volume, rel: relative(mount.mountPath, path) };
}

/** Every absolute path a config names (deeply), by its dotted field name. */
function configPaths(value: unknown, prefix = ""): [string, string][] {
  if (typeof value === "string") return value.startsWith("/") ? [[prefix, value]] : [];
  if (value === null || typeof value !== "object" || value instanceof Map || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => configPaths(v, prefix === "" ? k : `${prefix}.${k}`));
}

/** Non-test TypeScript of the processes: what "read by the code" means. */
async function processSources(): Promise<string> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(join(repoRoot, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) await walk(rel);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) out.push(await readFile(join(repoRoot, rel), "utf8"));
    }
  };
  for (const dir of ["mesh", "gateway", "services"]) await walk(dir);
  return out.join("\n");
}

/** Non-test TypeScript of one mesh process's own code (gateway/, services/<name>/), by file. */
async function ownSources(name: string): Promise<Map<string, string>> {
  const dir = name === "gateway" ? "gateway" : join("services", name);
  const files = new Map<string, string>();
  for (const e of await readdir(join(repoRoot, dir), { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) files.set(join(dir, e.name), await readFile(join(repoRoot, dir, e.name), "utf8"));
  }
  return files;
}

/**
 * The config fields naming where a process's own code keeps durable effects,
 * read from the code: the directories it opens effect ledgers in
 * (openEffectLedger of services/shared/effect-ledger.ts, e.g.
 * `openEffectLedger(join(config.dataDir, "drafts"))`) and its outbox
 * (`config.outboxDir`). Throws when a file opens a ledger somewhere this cannot tell.
 */
async function durableStateFields(name: string): Promise<string[]> {
  const fields = new Set<string>();
  for (const [file, code] of await ownSources(name)) {
    if (/import\s*\{[^}]*\bopenEffectLedger\b[^}]*\}\s*from\s*["'][./]*\/?(?:shared\/|services\/shared\/)effect-ledger\.js["']/.test(code)) {
      const calls = [...code.matchAll(/\bopenEffectLedger\(/g)].length;
      const dirs = [...code.matchAll(/\bopenEffectLedger\(\s*(?:join\(\s*)?config\.(\w+)/g)].map((m) => m[1]!);
      if (dirs.length !== calls) throw new Error(`${file} opens an effect ledger in a directory that is not a config field`);
      for (const d of dirs) fields.add(d);
    }
    for (const m of code.matchAll(/\bconfig\.(\w*[oO]utbox\w*)/g)) fields.add(m[1]!);
  }
  return [...fields].sort();
}

describe("durableStateFields", () => {
  it("finds the effect ledgers and the outbox in a service's code, and nothing in a stateless one", async () => {
    expect(await durableStateFields("publisher")).toEqual(["dataDir", "outboxDir"]);
    expect(await durableStateFields("summarizer")).toEqual([]);
  });
});

describe.each(overlays)("deploy/k8s %s: durable state", (overlay) => {
  it("runs every process whose code keeps durable effects (an effect ledger, an outbox) as one Recreate replica, unscaled, with them and its data dir on a persistent volume", async () => {
    const objects = await renderedObjects(overlay);
    const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler") as unknown as IHorizontalPodAutoscaler[];
    const stateful: string[] = [];
    for (const w of meshWorkloads(objects)) {
      const name = mainContainer(w).args![0]!;
      const fields = await durableStateFields(name);
      if (fields.length === 0) continue;
      stateful.push(name);
      // Another replica would not see this one's ledger: a compensation landing there misses, an effect can happen twice.
      expect((w.metadata as { annotations?: Record<string, string> }).annotations?.["agentmesh.io/singleton"], `${name} singleton`).toBeDefined();
      expect([w.spec.replicas, (w.spec["strategy"] as { type?: string } | undefined)?.type], name).toEqual([1, "Recreate"]);
      expect(hpas.filter((h) => h.spec!.scaleTargetRef.name === name).map((h) => h.metadata!.name), `${name} autoscaled`).toEqual([]);
      await expectOnClaim(objects, w, ["dataDir", ...fields]);
    }
    expect(stateful.length, "no service keeps durable effects: the detection is broken").toBeGreaterThan(0);
  });

  it("keeps the gateway's data dir (task journal, journaled approvals) on a persistent volume, and never runs two gateways (Recreate)", async () => {
    const code = [...(await ownSources("gateway")).values()].join("\n");
    expect(code, "the gateway journals its approvals in its data dir").toMatch(/createServiceApprovals\(\{[^}]*dataDir: config\.dataDir/);
    const objects = await renderedObjects(overlay);
    const gateway = find<Workload>(objects, "Deployment", "gateway");
    expect([gateway.spec.replicas, (gateway.spec["strategy"] as { type?: string } | undefined)?.type]).toEqual([1, "Recreate"]);
    await expectOnClaim(objects, gateway, ["dataDir"]);
  });
});

describe.each(overlays)("deploy/k8s %s: NATS storage", (overlay) => {
  it("every mesh process keeps as many copies of each stream as there are NATS servers (AGENTMESH_QUEUE_REPLICAS), within the store's size", async () => {
    const objects = await renderedObjects(overlay);
    const nats = find<Workload>(objects, "StatefulSet", "nats");
    const servers = nats.spec.replicas ?? 1;
    const conf = find<K8sObject & IConfigMap>(objects, "ConfigMap", volumeConfigMap(nats, "config")).data!["nats.conf"]!;
    // nats-server reads "16GB" as bytes with a decimal or binary unit; take the smaller.
    const store = /max_file_store:\s*(\d+)\s*([KMGT]?)B?\b/i.exec(conf);
    expect(store, "nats.conf sets max_file_store").not.toBeNull();
    const storeBytes = Number(store![1]) * 1000 ** " KMGT".indexOf(store![2]!.toUpperCase() || " ");
    for (const w of meshWorkloads(objects)) {
      const settings = (await readProcessConfig(w.metadata.name, await containerEnv(w))).queue.settings;
      // Fewer copies than servers: a server's loss takes its streams with it; more: the streams cannot be placed.
      expect(settings.replicas, `${w.metadata.name} AGENTMESH_QUEUE_REPLICAS`).toBe(servers);
      // Each server holds a copy of every stream: the bounded ones must leave room for the queue and the KV bucket.
      const bounded = [settings.artifactMaxBytes, settings.deadLetterMaxBytes, settings.kvMaxBytes].filter((b) => b > 0);
      expect(bounded.reduce((a, b) => a + b, 0), `${w.metadata.name} byte limits`).toBeLessThan(storeBytes * 0.75);
    }
  });
});

/** Expects the paths of `fields` of the process's config to be on a writable PersistentVolumeClaim (ReadWriteOnce) that is rendered. */
async function expectOnClaim(objects: readonly K8sObject[], w: Workload, fields: readonly string[]): Promise<void> {
  const name = w.metadata.name;
  const config = (await readProcessConfig(name, await containerEnv(w))) as unknown as Record<string, unknown>;
  for (const field of fields) {
    const path = config[field];
    if (typeof path !== "string") throw new Error(`${name}: config has no path ${field}`);
    const at = mountOf(w, path);
    const claim = at?.volume?.persistentVolumeClaim?.claimName;
    expect(claim, `${name} ${field} ${path} is on a persistent volume`).toBeDefined();
    expect(at!.mount.readOnly ?? false, `${name} ${field} writable`).toBe(false);
    expect(find<K8sObject & IPersistentVolumeClaim>(objects, "PersistentVolumeClaim", claim!).spec!.accessModes).toEqual(["ReadWriteOnce"]);
  }
}

describe.each(overlays)("deploy/k8s %s: the mesh processes' environment", (overlay) => {
  it("parses through each service's own config reader, listening on its declared ports on every interface", async () => {
    const objects = await renderedObjects(overlay);
    for (const w of meshWorkloads(objects)) {
      const c = mainContainer(w);
      const name = c.args![0]!;
      const config = await readProcessConfig(name, await containerEnv(w));
      const listen = [config.grpcAddress, config.connectAddress, (config as { artifacts?: { address: string } }).artifacts?.address].filter((a) => a !== undefined);
      for (const address of listen) expect(splitAddress(address).host, `${name} ${address}`).toBe("0.0.0.0");
      expect(listen.map((a) => splitAddress(a).port).sort(), `${name}: listen ports = container ports`).toEqual((c.ports ?? []).map((p) => p.containerPort).sort());
      expect(splitAddress(config.grpcAddress).port).toBe(containerPort(c, "grpc"));
      expect(splitAddress(config.connectAddress!).port).toBe(containerPort(c, "connect"));
      // The ports each service uses by default (gateway/config.ts, services/shared/service-config.ts, a service's own config.ts).
      const defaults = await readProcessConfig(name, {});
      expect([containerPort(c, "grpc"), containerPort(c, "connect")], name).toEqual([defaults.grpcAddress, defaults.connectAddress!].map((a) => splitAddress(a).port));
    }
  });

  it("advertises the pod IP under the pod's name and dials the gateway, the collector and NATS through their Services", async () => {
    const objects = await renderedObjects(overlay);
    const collectorConfig = parse(find<K8sObject & IConfigMap>(objects, "ConfigMap", volumeConfigMap(find<Workload>(objects, "Deployment", "otel-collector"), "config")).data!["config.yaml"]!) as {
      receivers: { otlp: { protocols: { grpc: { endpoint: string } } } };
    };
    for (const w of meshWorkloads(objects)) {
      const env = await containerEnv(w);
      const config = await readProcessConfig(w.metadata.name, env);
      expect([config.advertiseHost, config.instanceId], w.metadata.name).toEqual([podIp, podName(w)]);
      expect(config.telemetry.resourceAttributes).toMatchObject({ "k8s.pod.name": podName(w), "k8s.namespace.name": "agentmesh" });

      const gw = splitAddress(config.gatewayAddress);
      const gateway = serviceTarget(objects, gw.host, gw.port);
      expect(gateway.workload.metadata.name).toBe("gateway");
      expect(gateway.port).toBe(splitAddress(readGatewayConfig(await containerEnv(gateway.workload)).grpcAddress).port);

      // Artifact links and uploads go to the gateway's artifact port through its Service.
      const artifactsUrl = (config as { artifactsUrl?: string }).artifactsUrl;
      if (artifactsUrl !== undefined) {
        const url = new URL(artifactsUrl);
        const artifacts = serviceTarget(objects, url.hostname, Number(url.port));
        expect([artifacts.workload.metadata.name, artifacts.port]).toEqual(["gateway", containerPort(mainContainer(artifacts.workload), "artifacts")]);
      }

      expect(config.telemetry.exporters).toEqual(["otlp"]);
      expect(config.telemetry.metrics.exporters).toEqual(["otlp"]);
      const otlp = new URL(config.telemetry.otlpEndpoint!);
      const collector = serviceTarget(objects, otlp.hostname, Number(otlp.port));
      expect(collector.workload.metadata.name).toBe("otel-collector");
      expect(collector.port).toBe(splitAddress(collectorConfig.receivers.otlp.protocols.grpc.endpoint).port);

      const queueUrl = env.AGENTMESH_QUEUE!;
      const queue = (config as { queue?: { url?: string } }).queue;
      if (queue !== undefined) expect(queue.url).toBe(queueUrl);
      const nats = new URL(queueUrl);
      expect(nats.protocol).toBe("nats:");
      const server = serviceTarget(objects, nats.hostname, Number(nats.port));
      expect([server.workload.kind, server.port]).toEqual(["StatefulSet", containerPort(mainContainer(server.workload), "client")]);
    }
  });

  it("finds the policy bundle, its keys and (the gateway) the agent offers on its volumes, with the repository's content", async () => {
    const objects = await renderedObjects(overlay);
    const bundleManifest = JSON.parse(await readFile(join(repoRoot, "policy", "build", "manifest.json"), "utf8")) as { revision: string };
    for (const w of meshWorkloads(objects)) {
      const name = w.metadata.name;
      const config = await readProcessConfig(name, await containerEnv(w));

      const policy = mountOf(w, config.policyDir)!;
      expect([policy.rel, policy.mount.readOnly], name).toEqual(["", true]);
      const cm = find<K8sObject & IConfigMap>(objects, "ConfigMap", policy.volume!.configMap!.name!);
      const dir = await materialize(cm, join(scratch, overlay, name, "policy"));
      for (const file of ["policy.wasm", "data.json", "manifest.json"]) {
        expect((await readFile(join(dir, file))).equals(await readFile(join(repoRoot, "policy", "build", file))), `${name} ${file}`).toBe(true);
      }
      expect((await loadPolicyBundle(dir)).revision).toBe(bundleManifest.revision);

      const files = secretFiles();
      const secretFile = (path: string) => {
        const at = mountOf(w, path)!;
        const secret = at.volume!.secret!;
        const key = secret.items === undefined ? at.rel : secret.items.find((i) => i.path === at.rel)?.key;
        expect(at.mount.readOnly, `${name} ${path}`).toBe(true);
        const file = files.get(`${secret.secretName}/${key}`);
        if (file === undefined) throw new Error(`${name}: ${path} is Secret ${secret.secretName} key ${key}, which the keys script does not make`);
        return file;
      };
      await loadVerificationKeys(secretFile(config.jwksPath));
      expect((await loadSigningKey(secretFile(config.signingKeyPath))).kid, name).toBe(keys.kids[name]);
      expect(config.devKeys).toBe(false);
      expect([...(config.roleKeys?.get("gateway") ?? [])]).toEqual([keys.kids.gateway]);

      if (name === "gateway") {
        const offersPath = readGatewayConfig(await containerEnv(w)).agentOffersPath!;
        const at = mountOf(w, offersPath)!;
        const offers = find<K8sObject & IConfigMap>(objects, "ConfigMap", at.volume!.configMap!.name!).data![at.rel]!;
        expect(offers).toBe(await readFile(join(repoRoot, "config", "agent-offers.json"), "utf8"));
        const agents = Object.keys((JSON.parse(offers) as { agents: Record<string, unknown> }).agents).sort();
        expect(agents, "config/agent-offers.json lists every agent deployed").toEqual(agentWorkloads(objects).map((m) => m.metadata.name).sort());
        // No static cards (docs/deploy.md): a static card would grant its intents without a registration.
        expect(readGatewayConfig(await containerEnv(w)).agentCardsPath, "AGENTMESH_AGENT_CARDS").toBeUndefined();
      }
    }
  });

  it("keeps every path a process reads or writes on a volume: state on writable ones, the rest read-only", async () => {
    const objects = await renderedObjects(overlay);
    const readOnlyFields = ["policyDir", "jwksPath", "signingKeyPath", "agentOffersPath", "agentCardsPath"];
    for (const w of meshWorkloads(objects)) {
      const config = await readProcessConfig(w.metadata.name, await containerEnv(w));
      for (const [field, path] of configPaths(config)) {
        const at = mountOf(w, path);
        expect(at, `${w.metadata.name} ${field} ${path} is on no volume`).toBeDefined();
        expect(at!.mount.readOnly === true, `${w.metadata.name} ${field} ${path} read-only`).toBe(readOnlyFields.includes(field));
      }
    }
  });

  it("sets only variables the processes read", async () => {
    const sources = await processSources();
    const objects = await renderedObjects(overlay);
    for (const w of meshWorkloads(objects)) {
      const env = mainContainer(w).env ?? [];
      const referenced = new Set(env.flatMap((e) => [...(e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!)));
      for (const e of env) {
        const read = new RegExp(`\\b${e.name}\\b`).test(sources);
        expect(read || referenced.has(e.name), `${w.metadata.name}: ${e.name} is read by no process`).toBe(true);
      }
    }
  });
});

function volumeConfigMap(w: Workload, volume: string): string {
  const name = w.spec.template.spec.volumes?.find((v) => v.name === volume)?.configMap?.name;
  if (name === undefined) throw new Error(`${w.metadata.name} has no ConfigMap volume ${volume}`);
  return name;
}
