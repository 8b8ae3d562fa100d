/**
 * The identity the CLI calls with: a configured token when there is one, else a
 * token minted from the local development key (see cli/config.ts).
 */
import { join } from "node:path";
import { ensureDevKeys, issueToken, loadSigningKey } from "../mesh/index.js";
import type { Role } from "../mesh/index.js";

/** How the CLI identifies itself; every field is optional. */
export interface CliIdentityOptions {
  /** Returned as it is when set and not empty (AGENTMESH_TOKEN). */
  readonly token?: string | undefined;
  /** Subject of a minted token; default "operator". */
  readonly subject?: string;
  /** Role of a minted token; default "supervisor". */
  readonly role?: Role;
}

/**
 * A token for the CLI's calls: `options.token`, or one minted for an hour from
 * the development key in `home` (made on first use). Throws when the key cannot
 * be read or made.
 */
export async function cliToken(home: string, options: CliIdentityOptions = {}): Promise<string> {
  if (options.token !== undefined && options.token !== "") return options.token;
  const { signingKeyPath } = await ensureDevKeys(join(home, "keys"));
  return issueToken(await loadSigningKey(signingKeyPath), { subject: options.subject ?? "operator", role: options.role ?? "supervisor", ttlSeconds: 3600 });
}
