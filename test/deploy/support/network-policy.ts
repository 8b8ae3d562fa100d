/**
 * A small evaluator of Kubernetes NetworkPolicies (networking.k8s.io/v1), enough
 * to ask of rendered manifests "may this pod open this TCP port on that pod?".
 * It follows the API's rules: a pod selected by no policy of a direction is
 * open in that direction; once selected, only what some rule admits passes;
 * a connection needs the source's egress and the destination's ingress.
 * Peers: podSelector (same namespace), namespaceSelector (matched against the
 * namespace's labels, with kubernetes.io/metadata.name), both, or ipBlock
 * (treated as admitting any address: the tests expect none).
 */
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";

type Spec = NonNullable<INetworkPolicy["spec"]>;
type Selector = Spec["podSelector"];
type Peer = NonNullable<NonNullable<Spec["ingress"]>[number]["from"]>[number];
type PolicyPort = NonNullable<NonNullable<Spec["ingress"]>[number]["ports"]>[number];

/** A pod as the evaluator sees it: its namespace (with labels), its labels and named ports. */
export interface PodEndpoint {
  readonly namespace: string;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Named container ports (a policy may name a port). */
  readonly namedPorts?: Readonly<Record<string, number>>;
}

/** True when `labels` match `selector` (matchLabels and every matchExpressions operator). */
export function selectorMatches(selector: Selector | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok = e.operator === "In" ? has && values.includes(value!)
      : e.operator === "NotIn" ? !has || !values.includes(value!)
        : e.operator === "Exists" ? has
          : e.operator === "DoesNotExist" ? !has
            : (() => { throw new Error(`unknown selector operator ${e.operator}`); })();
    if (!ok) return false;
  }
  return true;
}

function peerMatches(peer: Peer, policyNamespace: string, other: PodEndpoint): boolean {
  if (peer.ipBlock !== undefined) return true;
  const namespaceOk = peer.namespaceSelector === undefined ? other.namespace === policyNamespace : selectorMatches(peer.namespaceSelector, other.namespaceLabels);
  const podOk = peer.podSelector === undefined ? true : selectorMatches(peer.podSelector, other.labels);
  return namespaceOk && podOk;
}

function portMatches(ports: readonly PolicyPort[] | undefined, port: number, target: PodEndpoint): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== "TCP") return false;
    if (p.port === undefined) return true;
    const start = typeof p.port === "number" ? p.port : target.namedPorts?.[p.port];
    if (start === undefined) return false;
    return p.endPort === undefined ? port === start : port >= start && port <= p.endPort;
  });
}

function policyTypes(policy: INetworkPolicy): string[] {
  const spec = policy.spec!;
  if (spec.policyTypes !== undefined) return spec.policyTypes;
  return spec.egress === undefined ? ["Ingress"] : ["Ingress", "Egress"];
}

function selects(policy: INetworkPolicy, pod: PodEndpoint): boolean {
  return (policy.metadata?.namespace ?? "") === pod.namespace && selectorMatches(policy.spec!.podSelector, pod.labels);
}

/** True when the policies admit `from` opening TCP `port` on `to`. */
export function allowsConnection(policies: readonly INetworkPolicy[], from: PodEndpoint, to: PodEndpoint, port: number): boolean {
  const ingressPolicies = policies.filter((p) => selects(p, to) && policyTypes(p).includes("Ingress"));
  const ingressOk = ingressPolicies.length === 0 || ingressPolicies.some((p) =>
    (p.spec!.ingress ?? []).some((rule) =>
      portMatches(rule.ports, port, to) && (rule.from === undefined || rule.from.length === 0 || rule.from.some((peer) => peerMatches(peer, p.metadata!.namespace!, from)))));
  const egressPolicies = policies.filter((p) => selects(p, from) && policyTypes(p).includes("Egress"));
  const egressOk = egressPolicies.length === 0 || egressPolicies.some((p) =>
    (p.spec!.egress ?? []).some((rule) =>
      portMatches(rule.ports, port, to) && (rule.to === undefined || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, p.metadata!.namespace!, to)))));
  return ingressOk && egressOk;
}
