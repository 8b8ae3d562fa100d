/** Calls and loggers for unit tests of governance steps and service implementations. */
import { createContextValues } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";
import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { LogLevel, Logger, MeshCall } from "../../mesh/index.js";

/** A `MeshCall` of `method` carrying `message`, as an adapter would build it (gRPC, no headers, no deadline). */
export function meshCall(method: DescMethod, message: Message, values: ContextValues = createContextValues()): MeshCall {
  return {
    service: method.parent,
    method,
    protocol: "grpc",
    header: { get: () => null },
    message,
    values,
    signal: new AbortController().signal,
    deadline: undefined,
    peer: "test",
  };
}

/** One line a `recordingLogger` kept. */
export interface LogLine {
  readonly level: LogLevel;
  readonly msg: string;
  readonly fields: Record<string, unknown> | undefined;
}

/** A logger that keeps its lines in `lines` instead of writing them. */
export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push({ level, msg, fields });
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
