/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, which share one wire
 * format) answered from the exact file descriptors protobuf-es embeds in the
 * generated code, so `buf curl`, grpcurl and other reflection clients can call
 * the services with no schema files of their own.
 */
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescFile, DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ServerReflectionRequestSchema, ServerReflectionResponseSchema, file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { ServerReflectionRequest, ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";

/** Paths of the reflection method, in both published versions. */
const reflectionServices = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

/** What the reflection service describes. */
export interface ReflectionIndex {
  /** Fully qualified service names to list. */
  readonly services: readonly string[];
  /** A file by its proto path (e.g. "agentmesh/v1/delegation.proto"). */
  readonly byName: ReadonlyMap<string, DescFile>;
  /** A file by any symbol it defines (message, enum, service, method, extension). */
  readonly bySymbol: ReadonlyMap<string, DescFile>;
}

/** Indexes `files` and everything they import. */
export function createReflectionIndex(files: readonly DescFile[], services: readonly string[]): ReflectionIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const addMessage = (file: DescFile, m: DescMessage) => {
    bySymbol.set(m.typeName, file);
    for (const n of m.nestedMessages) addMessage(file, n);
    for (const e of m.nestedEnums) bySymbol.set(e.typeName, file);
    for (const x of m.nestedExtensions) bySymbol.set(x.typeName, file);
  };
  const visit = (file: DescFile) => {
    if (byName.has(file.proto.name)) return;
    byName.set(file.proto.name, file);
    file.messages.forEach((m) => addMessage(file, m));
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    for (const x of file.extensions) bySymbol.set(x.typeName, file);
    for (const s of file.services) {
      bySymbol.set(s.typeName, file);
      for (const m of s.methods) bySymbol.set(`${s.typeName}.${m.name}`, file);
    }
    file.dependencies.forEach(visit);
  };
  [...files, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection].forEach(visit);
  return { services: [...services, ...reflectionServices].sort(), byName, bySymbol };
}

/** Answers one reflection request. */
export function answerReflection(index: ReflectionIndex, req: ServerReflectionRequest): ServerReflectionResponse {
  const base = { validHost: req.host, originalRequest: req };
  const files = (file: DescFile | undefined, what: string): MessageInitShape<typeof ServerReflectionResponseSchema> =>
    file === undefined
      ? { ...base, messageResponse: { case: "errorResponse", value: { errorCode: grpc.status.NOT_FOUND, errorMessage: `${what} not found` } } }
      : { ...base, messageResponse: { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) } } };
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return create(ServerReflectionResponseSchema, { ...base, messageResponse: { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } } });
    case "fileByFilename":
      return create(ServerReflectionResponseSchema, files(index.byName.get(r.value), `file ${r.value}`));
    case "fileContainingSymbol":
      return create(ServerReflectionResponseSchema, files(index.bySymbol.get(r.value), `symbol ${r.value}`));
    case "fileContainingExtension":
    case "allExtensionNumbersOfType":
      return create(ServerReflectionResponseSchema, { ...base, messageResponse: { case: "errorResponse", value: { errorCode: grpc.status.NOT_FOUND, errorMessage: "these services define no extensions" } } });
    default:
      return create(ServerReflectionResponseSchema, { ...base, messageResponse: { case: "errorResponse", value: { errorCode: grpc.status.INVALID_ARGUMENT, errorMessage: "empty reflection request" } } });
  }
}

/** The file followed by its transitive imports, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name)) return;
    seen.set(f.proto.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}

/** Registers both reflection versions on `server`. */
export function addReflectionService(server: grpc.Server, index: ReflectionIndex): void {
  for (const service of reflectionServices) {
    const definition = {
      ServerReflectionInfo: {
        path: `/${service}/ServerReflectionInfo`,
        requestStream: true,
        responseStream: true,
        requestSerialize: (m: ServerReflectionRequest) => Buffer.from(toBinary(ServerReflectionRequestSchema, m)),
        requestDeserialize: (b: Buffer) => fromBinary(ServerReflectionRequestSchema, b),
        responseSerialize: (m: ServerReflectionResponse) => Buffer.from(toBinary(ServerReflectionResponseSchema, m)),
        responseDeserialize: (b: Buffer) => fromBinary(ServerReflectionResponseSchema, b),
      },
    } as grpc.ServiceDefinition;
    server.addService(definition, {
      ServerReflectionInfo: (call: grpc.ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>) => {
        call.on("data", (req: ServerReflectionRequest) => call.write(answerReflection(index, req)));
        call.on("end", () => call.end());
        call.on("error", () => call.end());
      },
    });
  }
}
