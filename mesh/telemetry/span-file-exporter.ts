/**
 * The embedded span store: with no collector configured, each service appends
 * its finished spans to `<dataDir>/<service>.spans.jsonl` (mesh/storage/jsonl-log.ts),
 * one `SpanRecord` per line, so `agentmesh trace` can show a trace on a laptop.
 * It sits behind a batch processor: one export call writes a whole batch. Like
 * the metric facts, spans are synced lazily (`telemetrySyncEveryMs`,
 * mesh/storage/jsonl-log.ts): written at once, so a crash of the service loses
 * none, and synced within a second; telemetry is not what a task's outcome rests on.
 */
import { ExportResultCode } from "@opentelemetry/core";
import type { ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { openJsonlLog } from "../storage/jsonl-log.js";
import { toSpanRecord } from "./span-record.js";
import type { SpanRecord } from "./span-record.js";

/** Longest time spans and metric facts written stay unsynced. */
export const telemetrySyncEveryMs = 1_000;

/** The file name of a service's span store in its data directory. */
export function spanFileName(service: string): string {
  return `${service}.spans.jsonl`;
}

/** Creates an exporter appending spans to the JSONL file at `path` (created with its folder). */
export function createSpanFileExporter(path: string): SpanExporter {
  const log = openJsonlLog<SpanRecord>(path, { syncEveryMs: telemetrySyncEveryMs });
  let closed = false;
  let pending: Promise<void> = Promise.resolve();
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      if (closed) {
        done({ code: ExportResultCode.FAILED, error: new Error("the span file exporter is shut down") });
        return;
      }
      const write = log.appendAll(spans.map(toSpanRecord));
      pending = write.catch(() => undefined);
      write.then(
        () => done({ code: ExportResultCode.SUCCESS }),
        (err: unknown) => done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) }),
      );
    },
    async forceFlush() {
      await pending;
    },
    async shutdown() {
      closed = true;
      await log.close();
    },
  };
}
