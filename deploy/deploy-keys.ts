/**
 * Makes the keys a deployment runs with: one ES256 (P-256) signing key per mesh
 * process (the gateway, every agent, the sagas service), one for the operator's `agentmesh`
 * command, the JWKS of all their public keys, and the role keys that let only
 * the gateway's key sign gateway tokens and only the operator's key sign
 * approver tokens (AGENTMESH_AUTH_ROLE_KEYS, mesh/config.ts).
 *
 * The files are written, never committed: Kubernetes gets them as Secrets
 * (`kubectlSecretCommands`), docker compose as secrets and an env file. The
 * directory is private to its owner (0700); the files in it are 0644 so that
 * compose can bind-mount them into containers running as another user. Both
 * modes are set with chmod after writing: a mode given to mkdir or writeFile
 * is cut by the umask and ignored for a file that already exists.
 */
import { existsSync, readdirSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { exportJWK } from "jose";
import { kubectlApply } from "./render-manifests.js";
import { devKeyAlgorithm, generateDevKeyPair } from "../mesh/auth/keys.js";

const servicesDir = fileURLToPath(new URL("../services", import.meta.url));

/**
 * The mesh processes, each of which signs its own tokens: the gateway and every
 * service with an entry point (services/<name>/main.ts), sorted.
 */
export const meshProcesses: readonly string[] = [
  "gateway",
  ...readdirSync(servicesDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(servicesDir, e.name, "main.ts")))
    .map((e) => e.name)
    .sort(),
];

/** Mode of every file written (see above); the directories are 0700. */
export const fileMode = 0o644;

/** Algorithm of the keys: the development keys' own. */
const algorithm = devKeyAlgorithm;

/** What `writeDeployKeys` wrote, by key id. */
export interface DeployKeys {
  readonly dir: string;
  /** Key id of each mesh process's signing key, and of `cli`. */
  readonly kids: Readonly<Record<string, string>>;
  /** The AGENTMESH_AUTH_ROLE_KEYS value. */
  readonly roleKeys: string;
}

/**
 * Writes into `dir` (made if missing):
 *
 *   jwks.json                          every public key (AGENTMESH_AUTH_JWKS)
 *   role-keys.json                     {"gateway": [<gateway kid>], "approver": [<cli kid>]}
 *   <process>/signing-key.jwk.json     each process's private key (AGENTMESH_AUTH_SIGNING_KEY)
 *   cli/keys/signing-key.jwk.json      the operator's key: AGENTMESH_HOME=<dir>/cli for `agentmesh`
 *   cli/keys/jwks.json
 *   compose.env                        AGENTMESH_AUTH_ROLE_KEYS for `docker compose --env-file`
 *
 * Every call makes new keys (a rotation): existing files are overwritten.
 */
export async function writeDeployKeys(dir: string, processes: readonly string[] = meshProcesses): Promise<DeployKeys> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const stamp = new Date().toISOString().slice(0, 10);
  const kids: Record<string, string> = {};
  const publicKeys: object[] = [];
  const writeText = async (path: string, text: string) => {
    await writeFile(path, text, { mode: fileMode });
    await chmod(path, fileMode);
  };
  const write = (path: string, value: unknown) => writeText(path, JSON.stringify(value, null, 2) + "\n");
  for (const name of [...processes, "cli"]) {
    const kid = `${name}-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
    const { privateKey, publicKey } = await generateDevKeyPair();
    const meta = { kid, alg: algorithm, use: "sig" };
    const keyDir = name === "cli" ? join(dir, "cli", "keys") : join(dir, name);
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    await chmod(keyDir, 0o700);
    await write(join(keyDir, "signing-key.jwk.json"), { ...(await exportJWK(privateKey)), ...meta });
    publicKeys.push({ ...(await exportJWK(publicKey)), ...meta });
    kids[name] = kid;
  }
  const jwks = { keys: publicKeys };
  await write(join(dir, "jwks.json"), jwks);
  await write(join(dir, "cli", "keys", "jwks.json"), jwks);
  const roleKeys = JSON.stringify({ gateway: [kids.gateway], approver: [kids.cli] });
  await writeText(join(dir, "role-keys.json"), roleKeys + "\n");
  await writeText(join(dir, "compose.env"), `AGENTMESH_AUTH_ROLE_KEYS='${roleKeys}'\n`);
  return { dir, kids, roleKeys };
}

/**
 * The kubectl commands that turn `writeDeployKeys`'s files into the Secrets the
 * manifests reference: `agentmesh-auth` (jwks.json, role-keys.json) and
 * `agentmesh-signing-<process>` (signing-key.jwk.json).
 */
export function kubectlSecretCommands(dir: string, namespace = "agentmesh", processes: readonly string[] = meshProcesses): string[] {
  const apply = `--dry-run=client -o yaml | ${kubectlApply}`;
  return [
    `kubectl -n ${namespace} create secret generic agentmesh-auth --from-file=jwks.json=${join(dir, "jwks.json")} --from-file=role-keys.json=${join(dir, "role-keys.json")} ${apply}`,
    ...processes.map((p) => `kubectl -n ${namespace} create secret generic agentmesh-signing-${p} --from-file=signing-key.jwk.json=${join(dir, p, "signing-key.jwk.json")} ${apply}`),
  ];
}
