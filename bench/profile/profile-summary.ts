/**
 * Summarizes a V8 `.cpuprofile` (what `node --cpu-prof` writes): the top frames
 * by self time, the top frames by total (inclusive) time, self time by module
 * (npm package, Node internals, or the repository file), and the folded stacks
 * (`frame;frame;frame count`, one line per distinct stack) that flame-graph
 * tools (flamegraph.pl, speedscope, inferno) read.
 *
 * Times are in milliseconds of CPU sampled on the main thread; `perUnit` divides
 * them by a count the caller gives (e.g. delegations served) to say what a frame
 * costs per unit of work.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { repoRoot } from "../../tools/index.js";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

/** The parts of a `.cpuprofile` this module reads. */
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One row of a table: a frame or a module, with its time. */
export interface ProfileRow {
  readonly name: string;
  /** Milliseconds. */
  readonly ms: number;
  /** Share of all sampled time (idle included), 0..1. */
  readonly share: number;
}

/**
 * Where the time of a stack goes. First the whole stack is tested against
 * `claimingComponents` (a component that owns everything under it: a span
 * written to the span store is tracing, not the log under it); otherwise the
 * frame nearest the leaf that matches a `components` pattern names it (so the
 * OPA call under the policy step under the trace step is policy).
 */
export const claimingComponents: readonly (readonly [string, RegExp])[] = [
  ["idle (waiting for I/O)", /\(idle\)/],
  ["garbage collection", /\(garbage collector\)/],
  ["start-up and teardown (not per delegation)", /compileSourceTextModule|loadAndTranslate|rmSync|spanStoreSize|ModuleJob|^\(root\);\(anonymous\) bench\//],
  ["tracing (OpenTelemetry spans, span store)", /span-file-exporter|BatchSpanProcessor/],
];

/** Per-frame patterns; see `claimingComponents`. */
export const components: readonly (readonly [string, RegExp])[] = [
  ["tracing (OpenTelemetry spans, span store)", /@opentelemetry|mesh\/telemetry\/|interceptors\/trace\.ts/],
  ["durable logs (task journal, audit, fdatasync)", /jsonl-log|task-journal|audit-log|fdatasync|datasync/],
  ["policy (OPA Wasm evaluation, input building)", /opa-wasm|opa\.wasm|mesh\/policy\//],
  ["tokens (JWT sign/verify, jose + WebCrypto)", / jose:|mesh\/auth\/|hop-token|webcrypto|subtle/],
  ["request schema validation", /mesh\/validation\/|ajv/],
  ["protobuf encode/decode", /@bufbuild\/protobuf/],
  ["gRPC/HTTP2 transport (grpc-js, node:http2)", /@grpc\/grpc-js|mesh\/server\/|mesh\/client\//],
  ["other mesh code (chain, idempotency, task store, gateway routing)", / (mesh|gateway|test)\//],
];

/** The component of a stack (frames root first); see `claimingComponents`. */
function componentOf(frames: readonly string[]): string {
  const whole = frames.join(";");
  const claimed = claimingComponents.find(([, re]) => re.test(whole));
  if (claimed !== undefined) return claimed[0];
  for (let i = frames.length - 1; i >= 0; i--) {
    const hit = components.find(([, re]) => re.test(frames[i]!));
    if (hit !== undefined) return hit[0];
  }
  return "(unattributed: V8/Node work with no mesh frame)";
}

/** What `summarizeProfile` returns. */
export interface ProfileSummary {
  /** Sampled wall time, ms. */
  readonly totalMs: number;
  /** Time in frames other than `(idle)`, ms: the main thread's busy time. */
  readonly busyMs: number;
  readonly topSelf: readonly ProfileRow[];
  readonly topTotal: readonly ProfileRow[];
  readonly byModule: readonly ProfileRow[];
  /** Time by `components`, all of them, "(unattributed)" last. */
  readonly byComponent: readonly ProfileRow[];
  /** Folded stacks, one `a;b;c <µs>` line per stack. */
  readonly folded: string;
}

const root = repoRoot.endsWith("/") ? repoRoot : `${repoRoot}/`;

/** The module a frame's script belongs to: `pkg` for node_modules, `node:…` internals, a repo path, or `(v8)`. */
export function moduleOf(url: string): string {
  if (url === "") return "(v8/native)";
  if (url.startsWith("node:")) return "node: internals";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = path.slice(nm + "/node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  return path.startsWith(root) ? relative(root, path) : path;
}

function frameName(f: CallFrame): string {
  const name = f.functionName === "" ? "(anonymous)" : f.functionName;
  if (f.url === "") return name;
  return `${name} ${moduleOf(f.url)}:${f.lineNumber + 1}`;
}

/** Reads and summarizes the profile at `file`; tables keep the `top` largest rows. */
export function summarizeProfile(file: string, top = 30): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // A sample's duration is the delta to the next sample (the last one gets the mean).
  const totalUs = profile.endTime - profile.startTime;
  const meanUs = totalUs / Math.max(1, profile.samples.length);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? meanUs;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  const folded = new Map<string, number>();
  let idleUs = 0;
  const component = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = frameName(node.callFrame);
    if (node.callFrame.functionName === "(idle)") idleUs += us;
    self.set(name, (self.get(name) ?? 0) + us);
    modules.set(moduleOf(node.callFrame.url), (modules.get(moduleOf(node.callFrame.url)) ?? 0) + us);
    const stack: string[] = [];
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = frameName(byId.get(at)!.callFrame);
      stack.push(frame);
      if (!seen.has(frame)) {
        seen.add(frame);
        total.set(frame, (total.get(frame) ?? 0) + us);
      }
    }
    stack.reverse();
    const key = stack.join(";");
    folded.set(key, (folded.get(key) ?? 0) + us);
    const part = componentOf(stack);
    component.set(part, (component.get(part) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): ProfileRow[] =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs }));
  total.delete("(root)");
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    topSelf: rows(self),
    topTotal: rows(total),
    byModule: rows(modules),
    byComponent: [...component].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: us / totalUs })),
    folded: [...folded].map(([stack, us]) => `${stack} ${Math.round(us)}`).join("\n") + "\n",
  };
}

/**
 * A markdown table of `rows`, with µs per unit when `units` (e.g. delegations
 * served while profiled) is given.
 */
export function profileTable(title: string, rows: readonly ProfileRow[], units?: number): string {
  const perUnit = units === undefined ? "" : " µs per delegation |";
  const lines = [`| ${title} | ms | share |${perUnit}`, `|---|---|---|${units === undefined ? "" : "---|"}`];
  for (const r of rows) {
    const unit = units === undefined ? "" : ` ${((r.ms * 1000) / units).toFixed(1)} |`;
    lines.push(`| \`${r.name.replaceAll("|", "\\|")}\` | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% |${unit}`);
  }
  return lines.join("\n");
}
