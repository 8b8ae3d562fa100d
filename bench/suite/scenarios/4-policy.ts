/**
 * Scenario 4: one policy decision alone, in this process: `evaluate` of the
 * committed bundle on the realistic input (the copywriter deciding the
 * supervisor's copy.draft, bench/policy/realistic-call.ts) against a policy
 * whose decision is a constant allow (the SDK's own cost per call). Both are
 * timed call by call, alternating over rounds. `npm run bench:policy` measures
 * the whole policy step and its audit file besides.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { sampleSync } from "../../policy/latency-sample.js";
import type { LatencySample } from "../../policy/latency-sample.js";
import { loadPolicyPair } from "../../policy/realistic-call.js";
import { figureOf } from "../compare.js";
import { watchCpu } from "../proc-cpu.js";
import type { Row, Scenario } from "../scenario.js";

const scenario: Scenario = {
  id: "4",
  title: "policy evaluation alone: realistic decision vs empty policy",
  servers: [],
  async run(ctx) {
    const work = mkdtempSync(join(os.tmpdir(), "agentmesh-bench-suite-policy-"));
    try {
      const { real, empty, manifest, input } = await loadPolicyPair(work);
      const calls = ctx.options.quick ? 20_000 : 50_000;
      const variants = [
        { key: "empty", label: "empty policy, `evaluate`", run: () => sampleSync(calls, () => empty.evaluate(input)) },
        { key: "realistic", label: `committed bundle ${manifest.revision}, \`evaluate\``, run: () => sampleSync(calls, () => real.evaluate(input)) },
      ];
      for (const v of variants) v.run();
      const samples: Record<string, (LatencySample & { foreign: number })[]> = { empty: [], realistic: [] };
      for (let round = 1; round <= ctx.options.rounds; round++) {
        for (const v of round % 2 === 1 ? variants : [...variants].reverse()) {
          const { value, cpu } = await watchCpu({}, () => Promise.resolve(v.run()));
          samples[v.key]!.push({ ...value, foreign: cpu.foreign });
          ctx.log(`  policy ${v.key} round ${round}: p50 ${value.p50.toFixed(1)} µs, p99 ${value.p99.toFixed(1)} µs; others ${cpu.foreign.toFixed(2)} cores`);
        }
      }
      const others = Math.max(...Object.values(samples).flat().map((s) => s.foreign));
      const saturated = `harness process, one thread (synchronous calls); others up to ${others.toFixed(2)} cores`;
      const row = (which: "p50" | "p99", max: number): Row => {
        const base = figureOf(samples.empty!.map((s) => s[which]), "µs");
        const figure = figureOf(samples.realistic!.map((s) => s[which]), "µs");
        return {
          metric: `${which} of one decision (${calls} calls per round)`,
          baseline: { label: variants[0]!.label, figure: base },
          figure: { label: variants[1]!.label, figure },
          ratio: { text: `×${(figure.median / base.median).toFixed(2)}`, value: figure.median / base.median },
          target: `≤ ${max} µs`,
          met: figure.median <= max,
          saturated,
        };
      };
      return { rows: [row("p50", 25), row("p99", 150)], raw: { calls, bundle: manifest, samples } };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
export default scenario;
