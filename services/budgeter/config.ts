/**
 * Settings of the budgeter, read from the environment in this one place: the
 * agent service settings (services/shared/service-config.ts) plus its book.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_BUDGET_DIR | $AGENTMESH_DATA_DIR/budget | the ledger of reservations and releases |
 * | AGENTMESH_BUDGET_POOL_MICROS | 50000000000 (50,000 units) | everything that may be reserved at once |
 * | AGENTMESH_BUDGET_RESERVATION_CAP_MICROS | 10000000000 (10,000 units) | the most one reservation may earmark |
 */
import { join, resolve } from "node:path";
import { readServiceConfig } from "../shared/service-config.js";
import type { ServiceConfig } from "../shared/service-config.js";
import type { BudgetLimits } from "./budget-book.js";

/** Fully populated settings of the budgeter. */
export interface BudgeterConfig extends ServiceConfig {
  readonly ledgerDir: string;
  readonly limits: BudgetLimits;
}

/** Reads the budgeter's settings; throws naming a malformed variable. */
export function readBudgeterConfig(env: Readonly<Record<string, string | undefined>>): BudgeterConfig {
  const service = readServiceConfig("budgeter", env);
  return {
    ...service,
    ledgerDir: env.AGENTMESH_BUDGET_DIR === undefined || env.AGENTMESH_BUDGET_DIR === "" ? join(service.dataDir, "budget") : resolve(env.AGENTMESH_BUDGET_DIR),
    limits: {
      poolMicros: positiveInt(env, "AGENTMESH_BUDGET_POOL_MICROS", 50_000_000_000),
      capMicros: positiveInt(env, "AGENTMESH_BUDGET_RESERVATION_CAP_MICROS", 10_000_000_000),
    },
  };
}

function positiveInt(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return n;
}
