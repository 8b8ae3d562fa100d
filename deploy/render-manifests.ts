/**
 * Renders a kustomize overlay of deploy/k8s with the pinned kustomize
 * (tools/kustomize). The load restrictor is off on purpose: the base reads the
 * policy bundle (policy/build), the agent offers (config/agent-offers.json) and
 * the collector config (deploy/otel-collector.yaml) where they live, so the
 * repository keeps one copy of each (deploy/k8s/base/kustomization.yaml).
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/** deploy/k8s, the kustomize tree. */
export const k8sDir = fileURLToPath(new URL("./k8s", import.meta.url));

/**
 * How the rendered manifests (and the Secrets) are applied: server-side, so no
 * kubectl.kubernetes.io/last-applied-configuration annotation is written. That
 * annotation would hold a second copy of each object and is limited to 262,144
 * bytes, which the policy bundle's ConfigMap alone comes near; an object is
 * then limited only by etcd's request size (about 1.5 MiB; docs/deploy.md).
 */
export const kubectlApply = "kubectl apply --server-side --field-manager=agentmesh -f -";

/** The overlays under deploy/k8s/overlays (dev, prod), sorted. */
export function listOverlays(): string[] {
  return readdirSync(join(k8sDir, "overlays"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** The kustomize arguments that render `overlay` (what docs/deploy.md shows). */
export function kustomizeArgs(overlay: string): string[] {
  return ["build", "--load-restrictor", "LoadRestrictionsNone", join(k8sDir, "overlays", overlay)];
}

/**
 * Renders `overlay` with the kustomize binary at `kustomize` and returns the
 * multi-document YAML. Throws with kustomize's own message when it fails, or
 * when there is no such overlay.
 */
export async function renderOverlay(kustomize: string, overlay: string): Promise<string> {
  if (!listOverlays().includes(overlay)) throw new Error(`no overlay "${overlay}" (one of: ${listOverlays().join(", ")})`);
  try {
    const { stdout } = await promisify(execFile)(kustomize, kustomizeArgs(overlay), { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`kustomize ${kustomizeArgs(overlay).join(" ")} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}
