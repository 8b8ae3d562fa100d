/**
 * `agentmesh trace ID`: the trace of a delegation as a tree, from the embedded
 * span stores of the local mesh (`$AGENTMESH_HOME/data/*.spans.jsonl`, and one
 * folder down, where each replica of a test mesh keeps its data). ID is a trace
 * id, a task id or a correlation id. With `--jaeger URL` (or AGENTMESH_JAEGER_URL
 * set) it reads the trace from Jaeger's query API instead (cli/jaeger-trace.ts),
 * for a mesh that exports OTLP (`agentmesh up --jaeger`, a collector).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { openJsonlLog } from "../mesh/index.js";
import type { SpanRecord } from "../mesh/index.js";
import type { CliConfig } from "./config.js";
import { jaegerTraceReport } from "./jaeger-trace.js";
import { formatTraceTree, traceIdsFor } from "./trace-tree.js";

const spanFileSuffix = ".spans.jsonl";

/** Every span record in the span stores under `dataDir` (and its sub-folders, one level). */
export function readSpanStores(dataDir: string): SpanRecord[] {
  if (!existsSync(dataDir)) return [];
  const files: string[] = [];
  for (const entry of readdirSync(dataDir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(spanFileSuffix)) files.push(join(dataDir, entry.name));
    else if (entry.isDirectory()) {
      for (const inner of readdirSync(join(dataDir, entry.name))) {
        if (inner.endsWith(spanFileSuffix)) files.push(join(dataDir, entry.name, inner));
      }
    }
  }
  return files.flatMap((f) => openJsonlLog<SpanRecord>(f).readAll());
}

/**
 * The trees of every trace `id` names, as lines; throws when none is found
 * (spans reach the store about a second after they end).
 */
export function traceReport(dataDir: string, id: string): string[] {
  const spans = readSpanStores(dataDir);
  const traceIds = traceIdsFor(spans, id);
  if (traceIds.length === 0) {
    throw new Error(`no trace for ${id} in the span stores under ${dataDir} (${spans.length} spans read); spans are written about a second after they end`);
  }
  return traceIds.flatMap((t, i) => [...(i === 0 ? [] : [""]), ...formatTraceTree(t, spans)]);
}

/** Adds `trace ID` to `program`. */
export function registerTraceCommand(program: Command, config: CliConfig): void {
  program
    .command("trace")
    .description("print the trace of a delegation as a tree, from the local mesh's span stores or from Jaeger")
    .argument("<id>", "trace id, task id or correlation id")
    .option("--data-dir <dir>", "where the services keep their data", join(config.home, "data"))
    .option("--jaeger <url>", "read the trace from Jaeger's query API at this URL, e.g. http://127.0.0.1:16686 (default: AGENTMESH_JAEGER_URL)")
    .action(async (id: string, o: { dataDir: string; jaeger?: string }) => {
      const jaeger = o.jaeger ?? config.jaegerUrl;
      const lines = jaeger === undefined ? traceReport(o.dataDir, id) : await jaegerTraceReport(jaeger, id);
      process.stdout.write(lines.join("\n") + "\n");
    });
}
