/**
 * The identity the CLI calls with: a configured token when there is one, else a
 * token minted from the local development key (see cli/config.ts).
 *
 * Minted tokens come in two kinds. Delegations and reads go as `operator` with
 * role supervisor: the CLI hands work to the mesh as an operator would. Approval
 * decisions go as the person at the keyboard (the config's `user`, USER) with
 * role approver. They are different subjects on purpose: the mesh refuses a
 * decision by the subject that asked for the task (`self_approval`), and the
 * person approving is not the operator who delegated.
 */
import { join } from "node:path";
import { ensureDevKeys, issueToken, loadSigningKey } from "../mesh/index.js";
import type { Role } from "../mesh/index.js";
import type { CliConfig } from "./config.js";

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

/** Who a CLI call is made as: the operator (delegations, reads) or the user as approver (approvals). */
export type CliActor = "operator" | "approver";

/**
 * The request metadata of a CLI call as `actor`: the configured token when there
 * is one (then it must carry the role the call needs), else a minted one —
 * `operator` / supervisor, or the config's `user` / approver.
 */
export async function cliAuth(config: Pick<CliConfig, "home" | "token" | "user">, actor: CliActor): Promise<Record<string, string>> {
  const identity = actor === "operator" ? {} : { subject: config.user, role: "approver" as const };
  return { authorization: `Bearer ${await cliToken(config.home, { token: config.token, ...identity })}` };
}
