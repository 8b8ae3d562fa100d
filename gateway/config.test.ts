import { describe, expect, it } from "vitest";
import { defaultArtifactsAddress, readGatewayConfig } from "./config.js";

describe("readGatewayConfig's artifact settings", () => {
  it("fills the defaults: beside the gRPC port, 64 MiB, links for an hour", () => {
    expect(readGatewayConfig({}).artifacts).toEqual({
      address: "127.0.0.1:7072", maxBytes: 67_108_864, linkTtlSeconds: 3600, maxUploads: 32, maxUploadsPerCaller: 4, maxReads: 8, requestTimeoutSeconds: 120, headersTimeoutSeconds: 15,
    });
  });

  it.each([
    ["127.0.0.1:7070", "127.0.0.1:7072"],
    ["0.0.0.0:9000", "0.0.0.0:9002"],
    ["127.0.0.1:0", "127.0.0.1:0"],
    ["[::1]:7070", "[::1]:7072"],
  ])("listens beside gRPC address %s at %s by default", (grpc, artifacts) => {
    expect(defaultArtifactsAddress(grpc)).toBe(artifacts);
    expect(readGatewayConfig({ AGENTMESH_GRPC_ADDRESS: grpc }).artifacts.address).toBe(artifacts);
  });

  it("reads every artifact variable it documents", () => {
    expect(readGatewayConfig({
      AGENTMESH_ARTIFACTS_ADDRESS: "0.0.0.0:8080", AGENTMESH_MAX_ARTIFACT_BYTES: "1024", AGENTMESH_ARTIFACT_LINK_TTL_S: "60", AGENTMESH_ARTIFACTS_URL: "https://gw.example/",
      AGENTMESH_ARTIFACT_MAX_UPLOADS: "10", AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER: "2", AGENTMESH_ARTIFACT_MAX_READS: "3", AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S: "30", AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S: "5",
    })).toMatchObject({
      artifacts: { address: "0.0.0.0:8080", maxBytes: 1024, linkTtlSeconds: 60, maxUploads: 10, maxUploadsPerCaller: 2, maxReads: 3, requestTimeoutSeconds: 30, headersTimeoutSeconds: 5 },
      artifactsUrl: "https://gw.example",
    });
  });

  it.each([
    [{ AGENTMESH_MAX_ARTIFACT_BYTES: "0" }, "AGENTMESH_MAX_ARTIFACT_BYTES must be a positive integer"],
    [{ AGENTMESH_ARTIFACT_LINK_TTL_S: "soon" }, 'AGENTMESH_ARTIFACT_LINK_TTL_S must be a non-negative integer, not "soon"'],
    [{ AGENTMESH_ARTIFACT_LINK_TTL_S: "0" }, "AGENTMESH_ARTIFACT_LINK_TTL_S must be a positive integer"],
    [{ AGENTMESH_ARTIFACT_LINK_TTL_S: "604801", AGENTMESH_ARTIFACT_TTL_S: "0" }, "AGENTMESH_ARTIFACT_LINK_TTL_S must be at most 604800, not 604801"],
    [{ AGENTMESH_ARTIFACT_LINK_TTL_S: "90000", AGENTMESH_ARTIFACT_TTL_S: "86400" }, "AGENTMESH_ARTIFACT_TTL_S (86400) must be 0 or at least AGENTMESH_ARTIFACT_LINK_TTL_S (90000) and AGENTMESH_QUEUE_TOKEN_TTL_S (86400): a link or a queued task must not outlive its artifact"],
    [{ AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER: "0" }, "AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER must be a positive integer"],
    [{ AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S: "60", AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S: "30" }, "AGENTMESH_ARTIFACT_HEADERS_TIMEOUT_S (60) must be at most AGENTMESH_ARTIFACT_REQUEST_TIMEOUT_S (30)"],
  ])("refuses %o, naming the variable", (env, message) => {
    expect(() => readGatewayConfig(env)).toThrow(new Error(message));
  });
});
