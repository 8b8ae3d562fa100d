/**
 * The identity the CLI calls with: `AGENTMESH_TOKEN` when set, else a token minted
 * from the local development key for the current user as a supervisor.
 */
import { join } from "node:path";
import { ensureDevKeys, issueToken, loadSigningKey } from "../mesh/index.js";
import type { Role } from "../mesh/index.js";

/** A token for the CLI's calls. */
export async function cliToken(home: string, subject = process.env.USER ?? "operator", role: Role = "supervisor"): Promise<string> {
  const fromEnv = process.env.AGENTMESH_TOKEN;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const { signingKeyPath } = await ensureDevKeys(join(home, "keys"));
  return issueToken(await loadSigningKey(signingKeyPath), { subject, role, ttlSeconds: 3600 });
}
