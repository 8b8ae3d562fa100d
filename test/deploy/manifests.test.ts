/**
 * deploy/k8s, rendered by the pinned kustomize for every overlay: each object
 * validates against the Kubernetes schemas of kubernetes-models, and the
 * rendered output keeps the deployment's invariants (probes, resources,
 * security context, writable volumes, pinned images, no committed Secret,
 * NetworkPolicies, replicas and disruption budgets).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IService } from "kubernetes-models/v1/Service";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import { kubectlApply, listOverlays } from "../../deploy/render-manifests.js";
import { kubectlSecretCommands, meshProcesses } from "../../deploy/deploy-keys.js";
import { testToolPath } from "../../tools/test-tools.js";
import { repoRoot } from "../../tools/tool-path.js";
import { containerPort, find, mainContainer, meshWorkloads, podLabels, renderedObjects, workloads } from "./support/rendered-manifests.js";
import type { K8sObject, Workload } from "./support/rendered-manifests.js";
import { selectorMatches } from "./support/network-policy.js";
import { expectedImageTags, workerAgents } from "./support/sources.js";

const overlays = listOverlays();

/** Kinds kubernetes-models has no schema for that may still be rendered: none. */
const kindsWithoutSchema: ReadonlySet<string> = new Set();

/** Validates `o` with the model class of its apiVersion and kind; throws on a schema error or an unknown kind. */
async function validateObject(o: K8sObject): Promise<void> {
  let models: Record<string, unknown>;
  try {
    models = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<string, unknown>;
  } catch {
    throw new Error(`no schema for apiVersion ${o.apiVersion} (${o.kind} ${o.metadata.name})`);
  }
  const Model = models[o.kind] as (new (data: unknown) => { validate(): void }) | undefined;
  if (Model === undefined) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
  new Model(withUnwrappedBinaryData(o)).validate();
}

/**
 * kustomize wraps a ConfigMap's base64 binaryData at 70 columns; the API server
 * decodes it with Go's base64, which skips line breaks, while the schema's "byte"
 * format does not. Validate the value the API server sees.
 */
function withUnwrappedBinaryData(o: K8sObject): K8sObject {
  const binaryData = o["binaryData"] as Record<string, string> | undefined;
  if (binaryData === undefined) return o;
  return { ...o, binaryData: Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, v.replace(/\s+/g, "")])) };
}

/** The reason a workload runs as exactly one replica (annotation agentmesh.io/singleton), if it does. */
function singletonReason(w: Workload): string | undefined {
  return (w.metadata as { annotations?: Record<string, string> }).annotations?.["agentmesh.io/singleton"];
}

describe("deploy/k8s overlays", () => {
  it("are dev and prod", () => {
    expect(overlays).toEqual(["dev", "prod"]);
  });

  it.each(overlays)("%s: every rendered object validates against its Kubernetes schema", async (overlay) => {
    const objects = await renderedObjects(overlay);
    expect(objects.length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const o of objects) {
      if (kindsWithoutSchema.has(o.kind)) continue;
      try {
        await validateObject(o);
      } catch (err) {
        failures.push(`${o.kind}/${o.metadata.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("schema validation refuses an invalid object and an unknown kind", async () => {
    const objects = await renderedObjects("dev");
    const gateway = find<Workload>(objects, "Deployment", "gateway");
    await expect(validateObject({ ...gateway, spec: { ...gateway.spec, replicas: "one" } })).rejects.toThrow(/replicas/);
    await expect(validateObject({ apiVersion: "apps/v1", kind: "Gadget", metadata: { name: "x" } })).rejects.toThrow("no schema for apps/v1 Gadget (x)");
    await expect(validateObject({ apiVersion: "example.com/v1", kind: "Gadget", metadata: { name: "x" } })).rejects.toThrow("no schema for apiVersion example.com/v1");
  });

  it.each(overlays)("%s: everything lives in the agentmesh namespace, which enforces the restricted pod security standard", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const ns = find(objects, "Namespace", "agentmesh");
    expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(objects.filter((o) => o.kind !== "Namespace" && o.metadata.namespace !== "agentmesh").map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  it.each(overlays)("%s: every mesh process (gateway/main.ts, services/*/main.ts) has a Deployment, a Service and its own ServiceAccount", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const names = meshProcesses;
    expect(meshWorkloads(objects).map((w) => w.metadata.name).sort()).toEqual([...names].sort());
    for (const name of names) {
      const d = find<Workload>(objects, "Deployment", name);
      expect(mainContainer(d).args).toEqual([name]);
      find(objects, "Service", name);
      const sa = find(objects, "ServiceAccount", name);
      expect(d.spec.template.spec.serviceAccountName).toBe(name);
      expect([sa["automountServiceAccountToken"], d.spec.template.spec.automountServiceAccountToken]).toEqual([false, false]);
    }
  });

  it.each(overlays)("%s: every workload has liveness and readiness probes (native gRPC health on the mesh's gRPC port)", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const mesh = new Set(meshWorkloads(objects));
    for (const w of workloads(objects)) {
      const c = mainContainer(w);
      const where = `${w.kind}/${w.metadata.name}`;
      expect(c.livenessProbe, where).toBeDefined();
      expect(c.readinessProbe, where).toBeDefined();
      if (mesh.has(w)) {
        const grpc = containerPort(c, "grpc");
        for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
          // service unset: the overall health ("") that serve() sets (mesh/server/serve.ts).
          expect(probe?.grpc, where).toEqual({ port: grpc });
        }
      } else {
        for (const probe of [c.livenessProbe!, c.readinessProbe!]) {
          const port = probe.httpGet?.port;
          expect(port, where).toBeDefined();
          if (typeof port === "string") containerPort(c, port);
        }
      }
    }
  });

  it.each(overlays)("%s: every container requests and limits CPU and memory", async (overlay) => {
    for (const w of workloads(await renderedObjects(overlay))) {
      const r = mainContainer(w).resources;
      expect(Object.keys(r?.requests ?? {}).sort(), w.metadata.name).toEqual(["cpu", "memory"]);
      expect(Object.keys(r?.limits ?? {}).sort(), w.metadata.name).toEqual(["cpu", "memory"]);
    }
  });

  it.each(overlays)("%s: every pod runs non-root with a read-only root filesystem, no capabilities and no privilege escalation", async (overlay) => {
    for (const w of workloads(await renderedObjects(overlay))) {
      const pod = w.spec.template.spec;
      const c = mainContainer(w);
      const where = `${w.kind}/${w.metadata.name}`;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.runAsUser, where).toBeGreaterThan(0);
      expect(pod.securityContext?.seccompProfile, where).toEqual({ type: "RuntimeDefault" });
      expect([pod.hostNetwork, pod.hostPID, pod.hostIPC], where).toEqual([undefined, undefined, undefined]);
      expect(c.securityContext, where).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ["ALL"] } });
    }
  });

  it.each(overlays)("%s: every writable mount is an emptyDir or a persistent volume; /tmp and AGENTMESH_HOME are writable", async (overlay) => {
    for (const w of workloads(await renderedObjects(overlay))) {
      const c = mainContainer(w);
      const where = `${w.kind}/${w.metadata.name}`;
      const volumes = new Map((w.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
      const claims = new Set(((w.spec["volumeClaimTemplates"] ?? []) as { metadata: { name: string } }[]).map((t) => t.metadata.name));
      const isWritableVolume = (name: string) => volumes.get(name)?.emptyDir !== undefined || volumes.get(name)?.persistentVolumeClaim !== undefined || claims.has(name);
      const writable = (path: string) => (c.volumeMounts ?? []).some((m) => m.mountPath === path && m.readOnly !== true && isWritableVolume(m.name));
      for (const m of c.volumeMounts ?? []) {
        if (m.readOnly === true) continue;
        expect(isWritableVolume(m.name), `${where} mounts ${m.name} writable`).toBe(true);
      }
      expect(writable("/tmp"), `${where}: /tmp`).toBe(true);
      const home = c.env?.find((e) => e.name === "AGENTMESH_HOME")?.value;
      if (meshWorkloads([w]).length > 0) expect(home !== undefined && writable(home), `${where}: AGENTMESH_HOME`).toBe(true);
    }
  });

  it.each(overlays)("%s: every image is pinned to an exact version, matching the pinned tools and package.json", async (overlay) => {
    const expected = await expectedImageTags();
    const images = workloads(await renderedObjects(overlay)).map((w) => mainContainer(w).image!);
    for (const image of images) {
      expect(image, image).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?$/);
      expect(image, image).not.toMatch(/:latest\b/);
    }
    expect([...new Set(images)].sort()).toEqual(Object.entries(expected).map(([name, tag]) => `${name}:${tag}`).sort());
  });

  it.each(overlays)("%s: no Secret is rendered; every Secret referenced is one `npm run deploy -- keys` prints how to create", async (overlay) => {
    const objects = await renderedObjects(overlay);
    expect(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual([]);
    // Secret name -> keys, from the kubectl commands the keys script prints.
    const documented = new Map(kubectlSecretCommands("/keys").map((cmd) => {
      const name = / create secret generic (\S+)/.exec(cmd)![1]!;
      return [name, [...cmd.matchAll(/--from-file=([^=\s]+)=/g)].map((m) => m[1]!)] as const;
    }));
    const referenced: string[] = [];
    for (const w of workloads(objects)) {
      for (const v of w.spec.template.spec.volumes ?? []) {
        if (v.secret === undefined) continue;
        referenced.push(v.secret.secretName!);
        for (const item of v.secret.items ?? []) expect(documented.get(v.secret.secretName!), `${v.secret.secretName} key ${item.key}`).toContain(item.key);
      }
      for (const e of mainContainer(w).env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref === undefined) continue;
        referenced.push(ref.name!);
        expect(documented.get(ref.name!), `${ref.name} key ${ref.key}`).toContain(ref.key);
      }
    }
    expect([...new Set(referenced)].sort()).toEqual([...documented.keys()].sort());
  });

  it.each(overlays)("%s: every object fits etcd's request limit with room to spare (server-side apply keeps no second copy in an annotation)", async (overlay) => {
    // etcd refuses a request over about 1.5 MiB; fail well before, at 900 KiB.
    const budget = 900 * 1024;
    const sizes = (await renderedObjects(overlay)).map((o) => ({ name: `${o.kind}/${o.metadata.name}`, bytes: Buffer.byteLength(JSON.stringify(o)) }));
    expect(sizes.filter((s) => s.bytes > budget)).toEqual([]);
  });

  it.each(overlays)("%s: every workload has a PodDisruptionBudget that lets a node drain", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const pdbs = objects.filter((o) => o.kind === "PodDisruptionBudget") as unknown as IPodDisruptionBudget[];
    for (const w of workloads(objects)) {
      const covering = pdbs.filter((p) => selectorMatches(p.spec!.selector, podLabels(w)));
      expect(covering.map((p) => p.metadata!.name), w.metadata.name).toEqual([w.metadata.name]);
      const spec = covering[0]!.spec!;
      // A budget that allows no eviction blocks `kubectl drain` forever.
      expect(spec.maxUnavailable ?? 0, w.metadata.name).toBeGreaterThanOrEqual(spec.minAvailable === undefined ? 1 : 0);
      if (spec.minAvailable !== undefined) expect(spec.minAvailable).toBeLessThan(w.spec.replicas ?? 1);
    }
  });

  it.each(overlays)("%s: every Service selects a workload and targets ports its container has", async (overlay) => {
    const objects = await renderedObjects(overlay);
    for (const s of objects.filter((o) => o.kind === "Service") as unknown as IService[]) {
      const targets = workloads(objects).filter((w) => selectorMatches({ matchLabels: s.spec!.selector! }, podLabels(w)));
      expect(targets.length, s.metadata!.name).toBe(1);
      const c = mainContainer(targets[0]!);
      for (const p of s.spec!.ports!) {
        const target = typeof p.targetPort === "string" ? containerPort(c, p.targetPort) : p.targetPort ?? p.port;
        expect(c.ports?.map((cp) => cp.containerPort), `${s.metadata!.name}:${p.port}`).toContain(target);
        expect(target, `${s.metadata!.name}:${p.port}`).toBe(p.port);
      }
    }
  });
});

describe("deploy/k8s: metrics", () => {
  it.each(overlays)("%s: Prometheus can scrape each collector pod (annotations and a headless Service on the collector's Prometheus port)", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const collector = find<Workload>(objects, "Deployment", "otel-collector");
    const port = containerPort(mainContainer(collector), "prometheus");
    const annotations = collector.spec.template.metadata?.annotations ?? {};
    expect([annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]]).toEqual(["true", String(port), "/metrics"]);
    const headless = (objects.filter((o) => o.kind === "Service") as unknown as (K8sObject & IService)[])
      .filter((s) => s.spec!.clusterIP === "None" && selectorMatches({ matchLabels: s.spec!.selector! }, podLabels(collector)));
    expect(headless.map((s) => s.spec!.ports!.map((p) => p.port))).toEqual([[port]]);
  });
});

describe("deploy/k8s overlays: dev", () => {
  it("runs one replica of everything", async () => {
    const objects = await renderedObjects("dev");
    expect(Object.fromEntries(workloads(objects).map((w) => [w.metadata.name, w.spec.replicas]))).toEqual(
      Object.fromEntries(workloads(objects).map((w) => [w.metadata.name, 1])),
    );
    expect(objects.filter((o) => o.kind === "HorizontalPodAutoscaler")).toEqual([]);
  });
});

describe("deploy/k8s overlays: prod", () => {
  it("runs more than one replica of every workload not annotated as a singleton (its HPA's minimum for an autoscaled one), spread over nodes", async () => {
    const objects = await renderedObjects("prod");
    const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler") as unknown as IHorizontalPodAutoscaler[];
    expect(workloads(objects).filter((w) => singletonReason(w) !== undefined).map((w) => w.metadata.name).sort()).toEqual(["budgeter", "copywriter", "gateway", "jaeger", "publisher"]);
    for (const w of workloads(objects)) {
      if (singletonReason(w) !== undefined) {
        expect(w.spec.replicas, w.metadata.name).toBe(1);
        continue;
      }
      const hpa = hpas.find((h) => h.spec!.scaleTargetRef.kind === w.kind && h.spec!.scaleTargetRef.name === w.metadata.name);
      expect(hpa?.spec!.minReplicas ?? w.spec.replicas, w.metadata.name).toBeGreaterThan(1);
      const anti = w.spec.template.spec.affinity?.podAntiAffinity;
      const terms = [...(anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []), ...(anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => t.podAffinityTerm)];
      expect(terms.some((t) => t.topologyKey === "kubernetes.io/hostname" && selectorMatches(t.labelSelector, podLabels(w))), `${w.metadata.name} anti-affinity`).toBe(true);
    }
  });

  it("autoscales every worker agent that is not a singleton (and nothing else) from 2 replicas up; the HPA's target sets no replicas for an apply to reset", async () => {
    const objects = await renderedObjects("prod");
    const hpas = objects.filter((o) => o.kind === "HorizontalPodAutoscaler") as unknown as IHorizontalPodAutoscaler[];
    const workers = (await workerAgents()).filter((name) => singletonReason(find<Workload>(objects, "Deployment", name)) === undefined);
    expect(workers.length).toBeGreaterThanOrEqual(2);
    expect(hpas.map((h) => h.spec!.scaleTargetRef.name).sort()).toEqual([...workers].sort());
    for (const h of hpas) {
      const target = find<Workload>(objects, h.spec!.scaleTargetRef.kind, h.spec!.scaleTargetRef.name);
      expect(h.spec!.scaleTargetRef.apiVersion).toBe(target.apiVersion);
      // kubectl apply would set spec.replicas back to the manifest's value on every apply.
      expect(Object.hasOwn(target.spec, "replicas"), `${target.metadata.name}: spec.replicas under an HPA`).toBe(false);
      expect(h.spec!.minReplicas).toBeGreaterThanOrEqual(2);
      expect(h.spec!.maxReplicas).toBeGreaterThan(h.spec!.minReplicas!);
      // CPU utilisation needs a CPU request to measure against.
      expect(mainContainer(target).resources?.requests?.cpu).toBeDefined();
    }
  });

  it("runs NATS as three JetStream servers that route to each other through the headless Service", async () => {
    const objects = await renderedObjects("prod");
    const nats = find<Workload>(objects, "StatefulSet", "nats");
    expect(nats.spec.replicas).toBe(3);
    expect(nats.spec.template.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0]?.topologyKey).toBe("kubernetes.io/hostname");
    const serviceName = nats.spec["serviceName"] as string;
    const headless = find<K8sObject & IService>(objects, "Service", serviceName);
    expect([headless.spec!.clusterIP, headless.spec!.publishNotReadyAddresses]).toEqual(["None", true]);
    const conf = natsConf(objects, nats);
    const cluster = containerPort(mainContainer(nats), "cluster");
    const routes = [...conf.matchAll(/nats:\/\/([a-z0-9.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(routes).toEqual([0, 1, 2].map((i) => `nats-${i}.${serviceName}:${cluster}`));
  });
});

describe("deploy/k8s: NATS", () => {
  it.each(overlays)("%s: nats-server accepts the rendered config, and JetStream stores on the persistent volume", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const nats = find<Workload>(objects, "StatefulSet", "nats");
    const c = mainContainer(nats);
    const conf = natsConf(objects, nats);
    const dir = await mkdtemp(join(tmpdir(), "agentmesh-nats-conf-"));
    try {
      await writeFile(join(dir, "nats.conf"), conf);
      // SERVER_NAME comes from the downward API (metadata.name) in the pod.
      expect(c.env?.find((e) => e.name === "SERVER_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
      const { stderr } = await promisify(execFile)(testToolPath("nats-server"), ["-c", join(dir, "nats.conf"), "-t"], { env: { ...process.env, SERVER_NAME: "nats-0" } });
      expect(stderr).toMatch(/configuration file .* is valid/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const storeDir = /store_dir:\s*(\S+)/.exec(conf)?.[1];
    const claims = ((nats.spec["volumeClaimTemplates"] ?? []) as { metadata: { name: string } }[]).map((t) => t.metadata.name);
    const dataMount = c.volumeMounts?.find((m) => claims.includes(m.name));
    expect(storeDir?.startsWith(dataMount!.mountPath + "/")).toBe(true);
    expect(/^listen:\s*0\.0\.0\.0:(\d+)/m.exec(conf)?.[1]).toBe(String(containerPort(c, "client")));
    expect(/^http:\s*0\.0\.0\.0:(\d+)/m.exec(conf)?.[1]).toBe(String(containerPort(c, "monitor")));
  });
});

describe("the repository", () => {
  it("commits no key material where deployments are described, and git ignores where the keys script writes", async () => {
    const git = (...args: string[]) => promisify(execFile)("git", args, { cwd: repoRoot });
    const tracked = (await git("ls-files", "-z", "--", "deploy", "docker-compose.yml", "Dockerfile", "config")).stdout.split("\0").filter((f) => f !== "");
    expect(tracked.length).toBeGreaterThan(10);
    for (const file of tracked) {
      const text = await readFile(join(repoRoot, file), "utf8");
      expect(text, file).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
      // A private JWK: its "d" member.
      expect(text, file).not.toMatch(/"d"\s*:\s*"[A-Za-z0-9_-]{20,}"/);
    }
    await expect(git("check-ignore", "-q", ".agentmesh/deploy-keys/gateway/signing-key.jwk.json")).resolves.toBeDefined();
  });
});

describe("how the manifests are applied", () => {
  it("every documented kubectl apply, and the keys script's, is server-side (no 256 KiB last-applied annotation)", async () => {
    const files = ["docs/deploy.md", "README.md", "deploy/k8s/base/kustomization.yaml", "deploy/k8s/overlays/dev/kustomization.yaml", "deploy/k8s/overlays/prod/kustomization.yaml", "scripts/deploy.ts"];
    const applies: { where: string; command: string }[] = [];
    for (const file of files) {
      const text = await readFile(join(repoRoot, file), "utf8");
      // `kubectl apply -k` is only named (it cannot render the base), never run.
      for (const m of text.matchAll(/kubectl apply(?! -k)[^\n`]*/g)) applies.push({ where: file, command: m[0] });
    }
    for (const cmd of kubectlSecretCommands("/keys")) applies.push({ where: "kubectlSecretCommands", command: cmd.slice(cmd.indexOf("kubectl apply")) });
    expect(applies.filter((a) => a.where === "docs/deploy.md").length).toBeGreaterThanOrEqual(4);
    expect(applies.filter((a) => !a.command.startsWith(kubectlApply))).toEqual([]);
  });
});

/** The nats.conf of the ConfigMap the StatefulSet mounts at --config's directory. */
function natsConf(objects: readonly K8sObject[], nats: Workload): string {
  const c: IContainer = mainContainer(nats);
  const configPath = c.command![c.command!.indexOf("--config") + 1]!;
  const mount = c.volumeMounts!.find((m) => configPath.startsWith(m.mountPath + "/"))!;
  const volume = nats.spec.template.spec.volumes!.find((v) => v.name === mount.name)!;
  const cm = find<K8sObject & IConfigMap>(objects, "ConfigMap", volume.configMap!.name!);
  return cm.data![configPath.slice(mount.mountPath.length + 1)]!;
}
