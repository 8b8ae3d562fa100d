/**
 * The NetworkPolicies of deploy/k8s, evaluated over the rendered manifests:
 * which pod may open which port of which other pod. The whole matrix is
 * compared with the intended one, so a policy that admits more (or less) than
 * the design says fails here: only the gateway reaches the agents; the mesh
 * processes reach the gateway, the collector and NATS; everything else is denied,
 * except DNS.
 */
import { describe, expect, it } from "vitest";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { listOverlays } from "../../deploy/render-manifests.js";
import { agentWorkloads, find, mainContainer, meshWorkloads, podLabels, renderedObjects, workloads } from "./support/rendered-manifests.js";
import type { K8sObject } from "./support/rendered-manifests.js";
import { allowsConnection } from "./support/network-policy.js";
import type { PodEndpoint } from "./support/network-policy.js";

const overlays = listOverlays();

interface Pod extends PodEndpoint {
  readonly name: string;
  readonly ports: readonly number[];
}

function podsOf(objects: readonly K8sObject[]): Pod[] {
  const ns = find(objects, "Namespace", "agentmesh");
  const namespaceLabels = { ...ns.metadata.labels, "kubernetes.io/metadata.name": "agentmesh" };
  return workloads(objects).map((w) => {
    const c = mainContainer(w);
    return {
      name: w.metadata.name,
      namespace: "agentmesh",
      namespaceLabels,
      labels: podLabels(w),
      namedPorts: Object.fromEntries((c.ports ?? []).filter((p) => p.name !== undefined).map((p) => [p.name!, p.containerPort])),
      ports: (c.ports ?? []).map((p) => p.containerPort),
    };
  });
}

/** A client outside the namespace (an ingress controller, Prometheus, another team's pod). */
const outside: Pod = { name: "(outside)", namespace: "elsewhere", namespaceLabels: { "kubernetes.io/metadata.name": "elsewhere" }, labels: {}, ports: [] };
const kubeDns: Pod = { name: "kube-dns", namespace: "kube-system", namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" }, labels: { "k8s-app": "kube-dns" }, ports: [53] };

function policiesOf(objects: readonly K8sObject[]): INetworkPolicy[] {
  return objects.filter((o) => o.kind === "NetworkPolicy") as unknown as INetworkPolicy[];
}

/** Every allowed "from -> to:port" over the pods' declared ports. */
function allowedMatrix(objects: readonly K8sObject[]): string[] {
  const pods = podsOf(objects);
  const policies = policiesOf(objects);
  const allowed: string[] = [];
  for (const from of [...pods, outside]) {
    for (const to of [...pods, ...(from === outside ? [] : [kubeDns])]) {
      for (const port of to.ports) {
        if (allowsConnection(policies, from, to, port)) allowed.push(`${from.name} -> ${to.name}:${port}`);
      }
    }
  }
  return allowed.sort();
}

/** The intended matrix, written from the design (DESIGN.md "Scale-out"), ports by name. */
function intendedMatrix(objects: readonly K8sObject[]): string[] {
  const byName = new Map(workloads(objects).map((w) => [w.metadata.name, w]));
  const port = (workload: string, name: string) => {
    const p = mainContainer(byName.get(workload)!).ports?.find((cp) => cp.name === name)?.containerPort;
    if (p === undefined) throw new Error(`${workload} has no port ${name}`);
    return p;
  };
  const mesh = meshWorkloads(objects).map((w) => w.metadata.name);
  const agents = agentWorkloads(objects).map((w) => w.metadata.name);
  const rules: string[] = [];
  for (const m of mesh) {
    rules.push(`${m} -> gateway:${port("gateway", "grpc")}`, `${m} -> gateway:${port("gateway", "artifacts")}`);
    rules.push(`${m} -> otel-collector:${port("otel-collector", "otlp-grpc")}`, `${m} -> nats:${port("nats", "client")}`);
  }
  for (const a of agents) rules.push(`gateway -> ${a}:${port(a, "grpc")}`, `gateway -> ${a}:${port(a, "connect")}`);
  rules.push(`otel-collector -> jaeger:${port("jaeger", "otlp-grpc")}`);
  rules.push(`nats -> nats:${port("nats", "cluster")}`);
  for (const p of ["grpc", "connect", "artifacts"]) rules.push(`(outside) -> gateway:${port("gateway", p)}`);
  for (const p of ["grpc", "connect"]) rules.push(`(outside) -> sagas:${port("sagas", p)}`);
  // Jaeger's UI and query API have no authentication: not from outside the namespace (kubectl port-forward reaches it).
  rules.push(`(outside) -> otel-collector:${port("otel-collector", "prometheus")}`);
  for (const w of byName.keys()) rules.push(`${w} -> kube-dns:53`);
  return [...new Set(rules)].sort();
}

describe("deploy/k8s NetworkPolicies", () => {
  it.each(overlays)("%s: deny everything by default, in both directions", async (overlay) => {
    const policies = policiesOf(await renderedObjects(overlay));
    const deny = policies.filter((p) => Object.keys(p.spec!.podSelector).length === 0 && p.spec!.ingress === undefined && p.spec!.egress === undefined);
    expect(deny.map((p) => [p.metadata!.name, p.spec!.policyTypes])).toEqual([["default-deny", ["Ingress", "Egress"]]]);
  });

  it.each(overlays)("%s: admit exactly the intended connections", async (overlay) => {
    const objects = await renderedObjects(overlay);
    expect(allowedMatrix(objects)).toEqual(intendedMatrix(objects));
  });

  it.each(overlays)("%s: only the gateway reaches each agent, on the agent's own ports", async (overlay) => {
    const objects = await renderedObjects(overlay);
    const pods = podsOf(objects);
    const policies = policiesOf(objects);
    expect(agentWorkloads(objects).length).toBeGreaterThanOrEqual(5);
    for (const agent of agentWorkloads(objects)) {
      const to = pods.find((p) => p.name === agent.metadata.name)!;
      // Any port at all, not just the declared ones.
      const sources = [...pods, outside].filter((from) => [...to.ports, 1, 8080, 9090].some((port) => allowsConnection(policies, from, to, port)));
      expect(sources.map((p) => p.name), agent.metadata.name).toEqual(["gateway"]);
      const covering = policies.filter((p) => p.metadata!.name === agent.metadata.name);
      expect(covering.length, `NetworkPolicy ${agent.metadata.name}`).toBe(1);
    }
  });

  it("the evaluator denies what no policy admits and admits what one does", () => {
    const a: Pod = { name: "a", namespace: "n", namespaceLabels: {}, labels: { app: "a" }, ports: [1] };
    const b: Pod = { name: "b", namespace: "n", namespaceLabels: {}, labels: { app: "b" }, ports: [1] };
    const policy = (name: string, spec: INetworkPolicy["spec"]): INetworkPolicy => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: "n" }, spec });
    const deny = policy("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(allowsConnection([], a, b, 1)).toBe(true);
    expect(allowsConnection([deny], a, b, 1)).toBe(false);
    const inB = policy("in-b", { podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: 1, protocol: "TCP" }] }] });
    const outA = policy("out-a", { podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a"] }] }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "b" } } }], ports: [{ port: 1, endPort: 2, protocol: "TCP" }] }] });
    expect(allowsConnection([deny, inB], a, b, 1)).toBe(false);
    expect(allowsConnection([deny, inB, outA], a, b, 1)).toBe(true);
    expect(allowsConnection([deny, inB, outA], b, a, 1)).toBe(false);
    expect(allowsConnection([deny, inB, outA], a, b, 2)).toBe(false);
  });
});
