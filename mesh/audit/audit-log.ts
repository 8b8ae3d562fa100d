/**
 * The audit log: every policy decision (and policy reload, and approval) a service
 * made, as `AuditRecord`s. It is a JSONL file of proto-JSON records (jq reads it)
 * and, for `AuditService.QueryDecisions`, an in-memory index of the newest
 * records, rebuilt from the file at start.
 *
 * Nobody waits for a record's write (the call goes on), so the file is written
 * and synced lazily (mesh/storage/jsonl-log.ts): records made within
 * `auditGatherMs` of each other go out in one write, and the file is synced
 * within `auditSyncEveryMs`. A crash of the service loses at most the records of
 * the last `auditGatherMs`; a crash of the machine, of the last `auditSyncEveryMs`.
 */
import { randomUUID } from "node:crypto";
import { create, fromJson, toJson } from "@bufbuild/protobuf";
import type { JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import { timestampMs, timestampNow } from "@bufbuild/protobuf/wkt";
import { AuditKind, AuditRecordSchema } from "../../gen/agentmesh/v1/audit_pb.js";
import type { AuditRecord } from "../../gen/agentmesh/v1/audit_pb.js";
import { createLogger } from "../logger.js";
import type { Logger } from "../logger.js";
import { openJsonlLog } from "../storage/jsonl-log.js";

/** Longest time an audit record written stays unsynced. */
export const auditSyncEveryMs = 200;
/** Records made this close together go out in one write; a crash of the service loses at most these. */
export const auditGatherMs = 10;

/** Options of `createAuditLog`. */
export interface AuditLogOptions {
  /** Where failed writes are reported; default a logger named "audit". */
  readonly logger?: Logger;
  /** Records kept in memory for queries, newest; default 100,000. The file keeps all. */
  readonly maxRecords?: number;
}

/** Which records a query wants; unset fields match everything. */
export interface AuditQuery {
  readonly taskId?: string;
  readonly caller?: string;
  readonly intent?: string;
  /** Only policy decisions that did not admit the call (`allow` false). */
  readonly deniedOnly?: boolean;
  /** Only records at or after this time, epoch ms. */
  readonly sinceMs?: number;
  /** At most this many. */
  readonly limit: number;
}

/** A record to add; `recordId` and `time` are filled in when unset. */
export type AuditRecordInit = MessageInitShape<typeof AuditRecordSchema>;

/** The audit log of one service; see `createAuditLog`. */
export interface AuditLog {
  /**
   * Adds a record: queryable at once, written to the file in order behind the
   * call (a failed write is logged, and the next one is tried afresh). Returns
   * the record as stored.
   */
  record(init: AuditRecordInit): AuditRecord;
  /** Matching records in memory, newest first. */
  query(q: AuditQuery): AuditRecord[];
  /** Resolves once every record added so far was written or failed. */
  flush(): Promise<void>;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the audit file at `path` and replays its newest
 * `maxRecords` records into memory. Unreadable lines (a torn last line) are
 * skipped.
 */
export function createAuditLog(path: string, options: AuditLogOptions = {}): AuditLog {
  const logger = options.logger ?? createLogger("audit");
  const max = options.maxRecords ?? 100_000;
  const file = openJsonlLog<JsonValue>(path, { syncEveryMs: auditSyncEveryMs, gatherMs: auditGatherMs });
  // A ring of the newest records: `next` is where the next one goes.
  const ring: AuditRecord[] = [];
  let next = 0;
  const keep = (rec: AuditRecord) => {
    if (ring.length < max) ring.push(rec);
    else ring[next] = rec;
    next = (next + 1) % max;
  };
  for (const line of file.readAll()) {
    try {
      keep(fromJson(AuditRecordSchema, line, { ignoreUnknownFields: true }));
    } catch {
      // A line that is JSON but no record: skipped like a torn one.
    }
  }
  let written: Promise<void> = Promise.resolve();

  return {
    record(init) {
      const rec = create(AuditRecordSchema, init);
      if (rec.recordId === "") rec.recordId = randomUUID();
      rec.time ??= timestampNow();
      keep(rec);
      written = file.append(toJson(AuditRecordSchema, rec)).catch((err: unknown) => {
        logger.error("audit record not written", { path, record_id: rec.recordId, error: err instanceof Error ? err.message : String(err) });
      });
      return rec;
    },
    query(q) {
      const out: AuditRecord[] = [];
      for (let i = 1; i <= ring.length && out.length < q.limit; i++) {
        const rec = ring[(next - i + ring.length) % ring.length]!;
        if (matches(rec, q)) out.push(rec);
      }
      return out;
    },
    flush: () => written,
    async close() {
      await written;
      await file.close();
    },
  };
}

function matches(rec: AuditRecord, q: AuditQuery): boolean {
  if (q.taskId && rec.taskId !== q.taskId) return false;
  if (q.caller && rec.caller !== q.caller) return false;
  if (q.intent && rec.intent !== q.intent) return false;
  if (q.deniedOnly && (rec.kind !== AuditKind.POLICY_DECISION || rec.decision?.allow !== false)) return false;
  if (q.sinceMs !== undefined && (rec.time === undefined || timestampMs(rec.time) < q.sinceMs)) return false;
  return true;
}
