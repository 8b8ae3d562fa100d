/**
 * docker-compose.yml: valid against the Compose specification's schema, and the
 * same topology as the rendered dev overlay: the same services, images,
 * commands, ports and environment (compared with the manifests, not with a
 * list of their own), the same mounts for the files the processes read, and the
 * same restrictions (read-only root filesystem, no capabilities).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { writeDeployKeys } from "../../deploy/deploy-keys.js";
import { repoRoot } from "../../tools/tool-path.js";
import { find, mainContainer, meshWorkloads, renderedObjects, workloads } from "./support/rendered-manifests.js";
import type { K8sObject, Workload } from "./support/rendered-manifests.js";
import { composeSpecSchema } from "./support/compose-schema.js";

interface ComposeService {
  image?: string;
  build?: unknown;
  pull_policy?: string;
  command?: string[];
  environment?: Record<string, string>;
  expose?: string[];
  ports?: string[];
  volumes?: string[];
  secrets?: { source: string; target: string }[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  user?: string;
  tmpfs?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

let text: string;
let compose: ComposeFile;
let objects: K8sObject[];

/** Variables that exist only in a pod (the downward API): compose has no pod. */
const podOnly = new Set(["POD_IP", "POD_NAME", "POD_NAMESPACE"]);
/** Variables whose value names the environment the mesh runs in. */
const perEnvironment = new Set(["OTEL_RESOURCE_ATTRIBUTES"]);

beforeAll(async () => {
  text = await readFile(join(repoRoot, "docker-compose.yml"), "utf8");
  compose = parse(text, { merge: true }) as ComposeFile;
  objects = await renderedObjects("dev");
});

/** The container ports a compose service declares (expose, and the container side of ports). */
function composePorts(s: ComposeService): number[] {
  return [...(s.expose ?? []).map(Number), ...(s.ports ?? []).map((p) => Number(p.split(":").at(-1)))].sort((a, b) => a - b);
}

describe("docker-compose.yml", () => {
  it("validates against the Compose specification schema", async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(await composeSpecSchema());
    // The file as docker compose sees it, YAML merge keys applied.
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
    expect(validate({ services: { x: { image: 1, bogus: true } } })).toBe(false);
  });

  it("runs the same workloads as the dev overlay, with the same images and commands", () => {
    const names = workloads(objects).map((w) => w.metadata.name).sort();
    expect(Object.keys(compose.services).sort()).toEqual(names);
    for (const w of workloads(objects)) {
      const s = compose.services[w.metadata.name]!;
      const c = mainContainer(w);
      expect(s.image, w.metadata.name).toBe(c.image);
      expect(s.command, w.metadata.name).toEqual(c.command ?? c.args);
    }
    // One image is built, once, from the Dockerfile, and never pulled from a registry.
    expect(Object.entries(compose.services).filter(([, s]) => s.build !== undefined).map(([n]) => n)).toEqual(["gateway"]);
    for (const w of meshWorkloads(objects)) expect(compose.services[w.metadata.name]!.pull_policy, w.metadata.name).toBe(w.metadata.name === "gateway" ? "missing" : "never");
  });

  it("declares the container ports the manifests declare, publishing the gateway, the sagas service and Jaeger's UI on loopback", () => {
    for (const w of workloads(objects)) {
      const s = compose.services[w.metadata.name]!;
      expect(composePorts(s), w.metadata.name).toEqual((mainContainer(w).ports ?? []).map((p) => p.containerPort).sort((a, b) => a - b));
    }
    const published = Object.entries(compose.services).flatMap(([n, s]) => (s.ports ?? []).map((p) => `${n} ${p}`));
    const allPorts = (name: string) => (mainContainer(find<Workload>(objects, "Deployment", name)).ports ?? []).map((p) => `${name} 127.0.0.1:${p.containerPort}:${p.containerPort}`);
    expect(published.sort()).toEqual([...allPorts("gateway"), ...allPorts("sagas"), "jaeger 127.0.0.1:16686:16686"].sort());
  });

  it("gives each mesh process the manifests' environment (addresses by compose service name instead of pod IP)", () => {
    for (const w of meshWorkloads(objects)) {
      const name = w.metadata.name;
      const env = compose.services[name]!.environment!;
      const k8s = (mainContainer(w).env ?? []).filter((e) => !podOnly.has(e.name));
      expect(Object.keys(env).sort(), name).toEqual(k8s.map((e) => e.name).sort());
      for (const e of k8s) {
        if (e.value !== undefined && !e.value.includes("$(") && !perEnvironment.has(e.name)) expect(env[e.name], `${name} ${e.name}`).toBe(e.value);
      }
      expect([env.AGENTMESH_ADVERTISE_HOST, env.AGENTMESH_INSTANCE_ID], name).toEqual([name, `${name}-1`]);
      expect(env.AGENTMESH_AUTH_ROLE_KEYS).toMatch(/^\$\{AGENTMESH_AUTH_ROLE_KEYS:\?/);
    }
  });

  it("mounts the files the processes read where the manifests do, from the files the ConfigMaps are made of", async () => {
    const mounts = (s: ComposeService) => new Map((s.volumes ?? []).map((v) => { const [src, dst] = v.split(":"); return [dst!, src!]; }));
    for (const w of meshWorkloads(objects)) {
      const s = compose.services[w.metadata.name]!;
      const env = s.environment!;
      expect(mounts(s).get(env.AGENTMESH_POLICY_DIR!), w.metadata.name).toBe("./policy/build");
      if (env.AGENTMESH_AGENT_OFFERS !== undefined) expect(mounts(s).get(env.AGENTMESH_AGENT_OFFERS)).toBe("./config/agent-offers.json");
      const secrets = new Map((s.secrets ?? []).map((x) => [x.target, x.source]));
      expect(secrets.get(env.AGENTMESH_AUTH_JWKS!)).toBe("jwks");
      expect(secrets.get(env.AGENTMESH_AUTH_SIGNING_KEY!)).toBe(`signing-${w.metadata.name}`);
      // Everything else a process writes is on a tmpfs or a named volume.
      expect(s.tmpfs).toEqual(expect.arrayContaining([env.AGENTMESH_HOME, "/tmp"]));
      // What the manifests keep on a persistent volume, compose keeps on a named volume of its own, at the same place.
      const claims = new Set((w.spec.template.spec.volumes ?? []).filter((v) => v.persistentVolumeClaim !== undefined).map((v) => v.name));
      for (const m of (mainContainer(w).volumeMounts ?? []).filter((vm) => claims.has(vm.name))) {
        const source = mounts(s).get(m.mountPath);
        expect(source, `${w.metadata.name} ${m.mountPath}`).toBe(`${w.metadata.name}-state`);
        expect(Object.keys(compose.volumes)).toContain(source);
      }
    }
    const collector = compose.services["otel-collector"]!;
    const collectorConfig = find<K8sObject & IConfigMap>(objects, "ConfigMap", volumeConfigMap(find(objects, "Deployment", "otel-collector"), "config")).data!["config.yaml"]!;
    expect(await readFile(join(repoRoot, mounts(collector).get("/etc/otelcol-contrib/config.yaml")!), "utf8")).toBe(collectorConfig);
    const nats = find<Workload>(objects, "StatefulSet", "nats");
    const natsConf = find<K8sObject & IConfigMap>(objects, "ConfigMap", volumeConfigMap(nats, "config")).data!["nats.conf"]!;
    expect(await readFile(join(repoRoot, mounts(compose.services.nats!).get("/etc/nats/nats.conf")!), "utf8")).toBe(natsConf);
  });

  describe("secrets", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "agentmesh-compose-keys-"));
      await writeDeployKeys(dir);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it("are the files `npm run deploy -- keys` writes to .agentmesh/deploy-keys (ignored by git), the role keys from its compose.env", () => {
      for (const [name, secret] of Object.entries(compose.secrets)) {
        expect(secret.file, name).toMatch(/^\.agentmesh\/deploy-keys\//);
        expect(existsSync(join(dir, secret.file.slice(".agentmesh/deploy-keys/".length))), `${name}: ${secret.file}`).toBe(true);
      }
      expect(existsSync(join(dir, "compose.env"))).toBe(true);
      expect(text).toContain("--env-file .agentmesh/deploy-keys/compose.env");
    });
  });

  it("every documented docker compose command passes the env file: Compose interpolates the whole file, ${AGENTMESH_AUTH_ROLE_KEYS:?} too, for every subcommand", async () => {
    expect(text).toMatch(/\$\{AGENTMESH_AUTH_ROLE_KEYS:\?/);
    const commands: string[] = [];
    for (const file of ["docker-compose.yml", "docs/deploy.md", "README.md"]) {
      const doc = await readFile(join(repoRoot, file), "utf8");
      // A command: `docker compose` then an option or a subcommand, with what comes before it on the line (an env prefix).
      for (const m of doc.matchAll(/^.*?(?:\S+=\S+\s+)?docker compose (?:-|[a-z]+\b).*$/gm)) commands.push(`${file}: ${m[0].trim()}`);
    }
    expect(commands.filter((c) => c.startsWith("docs/deploy.md")).length).toBeGreaterThanOrEqual(4);
    const withEnvFile = /(?:docker compose --env-file \.agentmesh\/deploy-keys\/compose\.env |COMPOSE_ENV_FILES=\.agentmesh\/deploy-keys\/compose\.env docker compose )/;
    expect(commands.filter((c) => !withEnvFile.test(c))).toEqual([]);
  });

  it("runs every container with a read-only root filesystem, no capabilities and no privilege escalation; the mesh as the manifests' user", () => {
    for (const w of workloads(objects)) {
      const s = compose.services[w.metadata.name]!;
      expect([s.read_only, s.cap_drop, s.security_opt], w.metadata.name).toEqual([true, ["ALL"], ["no-new-privileges:true"]]);
    }
    for (const w of meshWorkloads(objects)) {
      const sc = w.spec.template.spec.securityContext!;
      expect(compose.services[w.metadata.name]!.user).toBe(`${sc.runAsUser}:${sc.runAsGroup}`);
    }
  });
});

function volumeConfigMap(w: K8sObject, volume: string): string {
  const name = (w as Workload).spec.template.spec.volumes?.find((v) => v.name === volume)?.configMap?.name;
  if (name === undefined) throw new Error(`${w.metadata.name} has no ConfigMap volume ${volume}`);
  return name;
}
