/**
 * The rendered manifests of deploy/k8s, for the deploy tests: each overlay
 * rendered once per test file by the pinned kustomize (tools/kustomize), parsed,
 * with typed views of the workloads and a few lookups the tests share.
 */
import { parseAllDocuments } from "yaml";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IPodTemplateSpec } from "kubernetes-models/v1/PodTemplateSpec";
import { renderOverlay } from "../../../deploy/render-manifests.js";
import { testToolPath } from "../../../tools/test-tools.js";

/** One rendered object; the tests narrow it by kind. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

/** A Deployment or StatefulSet, with its pod template. */
export interface Workload extends K8sObject {
  readonly spec: { readonly replicas?: number; readonly template: IPodTemplateSpec & { spec: IPodSpec }; readonly [field: string]: unknown };
}

const rendered = new Map<string, Promise<K8sObject[]>>();

/** The objects of `overlay` (dev, prod), rendered once per test file. */
export function renderedObjects(overlay: string): Promise<K8sObject[]> {
  let objects = rendered.get(overlay);
  if (objects === undefined) {
    objects = renderOverlay(testToolPath("kustomize"), overlay).then((text) => {
      const docs = parseAllDocuments(text);
      return docs.map((doc) => {
        if (doc.errors.length > 0) throw new Error(`rendered ${overlay} is not YAML: ${doc.errors[0]!.message}`);
        return doc.toJS() as K8sObject;
      });
    });
    rendered.set(overlay, objects);
  }
  return objects;
}

/** Deployments and StatefulSets. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects.filter((o): o is Workload => o.kind === "Deployment" || o.kind === "StatefulSet");
}

/** The mesh processes (gateway, agents, the sagas coordinator): the workloads that run the agentmesh image. */
export function meshWorkloads(objects: readonly K8sObject[]): Workload[] {
  return workloads(objects).filter((w) => ["gateway", "agent", "coordinator"].includes(w.metadata.labels?.["app.kubernetes.io/component"] ?? ""));
}

/** The agents (component agent): the workloads only the gateway may reach. */
export function agentWorkloads(objects: readonly K8sObject[]): Workload[] {
  return workloads(objects).filter((w) => w.metadata.labels?.["app.kubernetes.io/component"] === "agent");
}

/** The one object of `kind` named `name`; throws when there is none. */
export function find<T extends K8sObject = K8sObject>(objects: readonly K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found as T;
}

/** The workload's only container (every workload here has one). */
export function mainContainer(w: Workload): IContainer {
  const containers = w.spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`${w.kind} ${w.metadata.name} has ${containers.length} containers, expected 1`);
  return containers[0]!;
}

/** The container's port named `name`; throws when there is none. */
export function containerPort(c: IContainer, name: string): number {
  const port = c.ports?.find((p) => p.name === name)?.containerPort;
  if (port === undefined) throw new Error(`container ${c.name} has no port named ${name}`);
  return port;
}

/** The pod labels of a workload's template. */
export function podLabels(w: Workload): Readonly<Record<string, string>> {
  return w.spec.template.metadata?.labels ?? {};
}
