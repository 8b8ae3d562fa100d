/**
 * Deployment helpers (npm run -s deploy -- <command>):
 *
 *   render <overlay>   print the manifests of deploy/k8s/overlays/<overlay> (dev, prod),
 *                      rendered by the pinned kustomize (built on first use), for
 *                      `| kubectl apply --server-side --field-manager=agentmesh -f -`
 *   keys [dir]         make the deployment's keys in dir (default .agentmesh/deploy-keys)
 *                      and print the kubectl commands that store them as Secrets
 *
 * See docs/deploy.md.
 */
import { resolve } from "node:path";
import { kubectlSecretCommands, writeDeployKeys } from "../deploy/deploy-keys.js";
import { listOverlays, renderOverlay } from "../deploy/render-manifests.js";
import { toolPath } from "../tools/index.js";

// `render prod | head`: a reader that stops early closes the pipe; what is
// left unwritten is not wanted, so that ends the command quietly, as for
// other Unix tools.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(process.exitCode ?? 0);
});

const [command, arg] = process.argv.slice(2);
try {
  if (command === "render" && arg !== undefined) {
    process.stdout.write(await renderOverlay(await toolPath("kustomize"), arg));
  } else if (command === "keys") {
    const dir = resolve(arg ?? ".agentmesh/deploy-keys");
    const keys = await writeDeployKeys(dir);
    process.stderr.write(`keys written to ${keys.dir} (role keys: ${keys.roleKeys})\n`);
    process.stderr.write(`CLI: AGENTMESH_HOME=${resolve(dir, "cli")} npx agentmesh ...\nKubernetes Secrets:\n`);
    process.stdout.write(kubectlSecretCommands(dir).join("\n") + "\n");
  } else {
    process.stderr.write(`usage: npm run -s deploy -- render <${listOverlays().join("|")}> | keys [dir]\n`);
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`deploy: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
