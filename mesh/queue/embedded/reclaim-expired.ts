/**
 * Takes back messages whose consumer let the lease expire (it died, hung, or
 * returned without settling): each such attempt counts as failed with
 * `consumerLostReason`, and the message goes back to the queue at once, or to the
 * dead letters when that was its last allowed attempt. Any consumer of the
 * subject may do this; the first rename of the expired lease file wins.
 */
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { consumerLostReason } from "../queue-errors.js";
import { isNotFound, listNames, randomToken } from "./fs-files.js";
import type { ResolvedEmbeddedSettings } from "./embedded-settings.js";
import { deadPath, leaseName, parseLeaseName, readTicket, readyPath, rewriteAndMove } from "./queue-files.js";
import type { QueuePaths } from "./queue-files.js";

/** Reclaims the expired leases of `subject`; resolves to how many it took back. */
export async function reclaimExpired(paths: QueuePaths, subject: string, settings: ResolvedEmbeddedSettings): Promise<number> {
  const dir = join(paths.inflight, subject);
  let reclaimed = 0;
  for (const name of await listNames(dir)) {
    const lease = parseLeaseName(name);
    const now = Date.now();
    if (!lease || lease.expiresAt > now) continue;
    // Take it over under a fresh lease first, so no other consumer reclaims it too
    // and a crash here leaves it to be reclaimed again later.
    const held = join(dir, leaseName({ key: lease.key, expiresAt: now + settings.ackWaitMs, ackWaitMs: settings.ackWaitMs, token: randomToken() }));
    try {
      await rename(join(dir, name), held);
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    const ticket = await readTicket(held);
    if (!ticket) continue;
    const errors = [...ticket.errors, consumerLostReason(lease.ackWaitMs)];
    if (errors.length >= settings.maxDeliveries) await rewriteAndMove(held, { ...ticket, errors, deadAt: Date.now() }, deadPath(paths, ticket.id));
    else await rewriteAndMove(held, { ...ticket, errors }, readyPath(paths, ticket, Date.now()));
    reclaimed++;
  }
  return reclaimed;
}
