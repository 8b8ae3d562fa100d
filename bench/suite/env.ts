/** Settings of the benchmarks read from the environment. */

/** The positive integer in environment variable `name`, or `fallback` when unset; throws on anything else. */
export function positiveIntEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not "${raw}"`);
  return value;
}
