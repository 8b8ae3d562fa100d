/**
 * CPU profile of the mesh under delegation load: the mesh process of the
 * tracing benchmark (gateway + worker-a in one process, tracing on) runs with
 * `--cpu-prof` while this process drives `Delegate` of `test.echo` at it; then
 * the profile is summarized (profile-summary.ts) per delegation served.
 *
 * Usage: npm run bench:profile [-- --seconds 20] [-- --tracing off] [-- --in-flight 1]
 *   (--in-flight: calls kept in flight, default 32; 1 profiles the serial path that low-load latency is made of)
 * Writes bench/profile/mesh-delegation.md (-<n>-in-flight.md for another load; the summary, committed: it is what
 * BENCHMARKS.md cites) and bench/results/mesh-delegation.folded (folded stacks
 * for a flame graph, e.g. `flamegraph.pl bench/results/mesh-delegation.folded`;
 * gitignored, as is the raw .cpuprofile kept beside it).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../tools/index.js";
import { runDelegationLoad } from "../tracing/delegation-load.js";
import { startMeshProcess } from "../tracing/mesh-process.js";
import { profileTable, summarizeProfile } from "./profile-summary.js";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
};
const SECONDS = Number(arg("seconds", "15"));
const WARMUP_SECONDS = Number(arg("warmup", "5"));
const TRACING = arg("tracing", "on") === "on";
const IN_FLIGHT = Number(arg("in-flight", "32"));
const CHANNELS = Math.min(4, IN_FLIGHT);
/** Output names: mesh-delegation, or mesh-delegation-<n>-in-flight for another load. */
const NAME = IN_FLIGHT === 32 ? "mesh-delegation" : `mesh-delegation-${IN_FLIGHT}-in-flight`;

const dir = mkdtempSync(join(os.tmpdir(), "agentmesh-profile-"));
const env = TRACING
  ? { OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "embedded", OTEL_TRACES_SAMPLER: "parentbased_always_on" }
  : { OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "none", OTEL_TRACES_SAMPLER: "parentbased_always_on" };
const mesh = await startMeshProcess(env, ["--cpu-prof", "--cpu-prof-dir", dir]);
let served = 0;
let measured;
try {
  const load = (seconds: number, phase: string) =>
    runDelegationLoad({ grpcAddress: mesh.grpcAddress, token: mesh.token, channels: CHANNELS, inFlight: IN_FLIGHT, seconds, taskIdPrefix: `profile-${phase}` });
  served += (await load(WARMUP_SECONDS, "warmup")).calls;
  measured = await load(SECONDS, "measured");
  served += measured.calls;
} finally {
  await mesh.stop();
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (file === undefined) throw new Error(`the mesh process wrote no profile into ${dir}`);
const summary = summarizeProfile(join(dir, file), 25);
const resultsDir = join(repoRoot, "bench", "results");
mkdirSync(resultsDir, { recursive: true });
copyFileSync(join(dir, file), join(resultsDir, `${NAME}.cpuprofile`));
writeFileSync(join(resultsDir, `${NAME}.folded`), summary.folded);
rmSync(dir, { recursive: true, force: true });

const load = os.loadavg().map((x) => x.toFixed(2)).join(", ");
const md = [
  IN_FLIGHT === 32 ? `# CPU profile of the mesh process under delegation load` : `# CPU profile of the mesh process at ${IN_FLIGHT} call${IN_FLIGHT === 1 ? "" : "s"} in flight`,
  "",
  `Gateway + worker-a in one process (bench/tracing/mesh-process.ts), tracing ${TRACING ? "on (embedded span store)" : "off"}; ` +
    `\`Delegate\` of \`test.echo\`, ${IN_FLIGHT} in flight over ${CHANNELS} grpc-js channels from another process; ` +
    `${WARMUP_SECONDS} s warm-up + ${SECONDS} s measured, the profile covers both (${served} delegations, ` +
    `${(summary.busyMs / served * 1000).toFixed(0)} µs of main-thread CPU per delegation; measured phase ${measured.perSecond.toFixed(0)} delegations/s, ` +
    `p50 ${measured.p50.toFixed(1)} ms). Node ${process.version}, ${os.cpus().length} vCPU, load average ${load} at the end; ${new Date().toISOString()}.`,
  "",
  `Sampled ${summary.totalMs.toFixed(0)} ms, main thread busy ${summary.busyMs.toFixed(0)} ms. Regenerate with \`npm run bench:profile${IN_FLIGHT === 32 ? "" : ` -- --in-flight ${IN_FLIGHT}`}\`; ` +
    `folded stacks for a flame graph are written to bench/results/${NAME}.folded.`,
  "",
  "## Time by component",
  "",
  "Every sample's whole stack is matched against the component rules in bench/profile/profile-summary.ts (first match wins).",
  "",
  profileTable("component", summary.byComponent, served),
  "",
  "## Self time by module",
  "",
  profileTable("module", summary.byModule.slice(0, 15), served),
  "",
  "## Top frames by self time",
  "",
  profileTable("frame", summary.topSelf, served),
  "",
  "## Top frames by total time",
  "",
  profileTable("frame", summary.topTotal, served),
  "",
].join("\n");
writeFileSync(join(repoRoot, "bench", "profile", `${NAME}.md`), md);
process.stdout.write(md);
