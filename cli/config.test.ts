import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { readCliConfig } from "./config.js";

describe("readCliConfig", () => {
  it("fills every setting with its default from an empty environment", () => {
    expect(readCliConfig({})).toEqual({ home: resolve(".agentmesh"), gatewayAddress: "127.0.0.1:7070", artifactsUrl: "http://127.0.0.1:7072", token: undefined, user: "approver", jaegerUrl: undefined });
  });

  it("reads every variable it documents", () => {
    expect(readCliConfig({ AGENTMESH_HOME: "/tmp/mesh", AGENTMESH_GATEWAY: "gw.internal:9000", AGENTMESH_TOKEN: "abc.def.ghi", USER: "carol", AGENTMESH_JAEGER_URL: "http://jaeger:16686", AGENTMESH_ARTIFACTS_URL: "https://artifacts.internal/" })).toEqual({
      home: "/tmp/mesh", gatewayAddress: "gw.internal:9000", artifactsUrl: "https://artifacts.internal", token: "abc.def.ghi", user: "carol", jaegerUrl: "http://jaeger:16686",
    });
  });

  it("defaults the artifact endpoint to the gateway's host and its gRPC port + 2", () => {
    expect(readCliConfig({ AGENTMESH_GATEWAY: "gw.internal:9000" }).artifactsUrl).toBe("http://gw.internal:9002");
  });

  it("treats an empty AGENTMESH_TOKEN and USER as unset", () => {
    expect(readCliConfig({ AGENTMESH_TOKEN: "", USER: "" })).toMatchObject({ token: undefined, user: "approver" });
  });

  it.each([
    ["AGENTMESH_GATEWAY", { AGENTMESH_GATEWAY: "localhost" }, 'AGENTMESH_GATEWAY must be host:port, not "localhost"'],
    ["AGENTMESH_JAEGER_URL", { AGENTMESH_JAEGER_URL: "localhost:16686" }, 'AGENTMESH_JAEGER_URL must be an http(s) URL, not "localhost:16686"'],
    ["AGENTMESH_LOG_LEVEL", { AGENTMESH_LOG_LEVEL: "loud" }, 'AGENTMESH_LOG_LEVEL must be debug, info, warn or error, not "loud"'],
  ])("refuses a malformed %s, naming it", (_name, env, message) => {
    expect(() => readCliConfig(env)).toThrow(new Error(message));
  });
});
