/**
 * Who may offer which intent is the gateway's configuration: with no offers file
 * (and no static card) no agent may register, a malformed offers file stops the
 * gateway from starting, and the offers file `agentmesh up` uses grants each demo
 * agent exactly the intent its service defines.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { Protocol, RegistryService } from "../gen/agentmesh/v1/registry_pb.js";
import { readGatewayConfig, startGateway } from "../gateway/index.js";
import { createGrpcClient, createLogger, ensureDevKeys, errorDetailOf } from "../mesh/index.js";
import { agentEntries, agentOffersPath } from "../cli/mesh-processes.js";
import { releaseBudgetIntent, reserveBudgetIntent } from "../services/budgeter/index.js";
import { draftCopyIntent } from "../services/copywriter/index.js";
import { draftCampaignIntent, withdrawCampaignIntent } from "../services/copywriter/campaign-intent.js";
import { publishContentIntent } from "../services/publisher/index.js";
import { schedulePublishIntent, unschedulePublishIntent } from "../services/publisher/schedule-intent.js";
import { segmentLeadsIntent } from "../services/segmenter/index.js";
import { summarizeIntent } from "../services/summarizer/index.js";
import { launchCampaignIntent } from "../services/supervisor/intent.js";
import { startTestMesh } from "./support/test-mesh.js";

const home = mkdtempSync(join(tmpdir(), "agentmesh-offers-"));
const env = { AGENTMESH_HOME: home, AGENTMESH_GRPC_ADDRESS: "127.0.0.1:0", AGENTMESH_CONNECT_ADDRESS: "off", AGENTMESH_SHUTDOWN_GRACE_MS: "1000" };
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("a gateway with no offers file and no static card", () => {
  it("refuses every registration with intent_not_allowed", async () => {
    const mesh = await startTestMesh({}, null);
    const client = createGrpcClient(mesh.grpcAddress);
    try {
      const card = { name: "twin", intents: [{ name: "test.echo", inputSchema: {}, outputSchema: {} }], endpoints: [{ protocol: Protocol.GRPC, address: "127.0.0.1:1" }] };
      const err = await client.unary(RegistryService.method.register, { card, instanceId: "twin-1" }, { metadata: { authorization: `Bearer ${await mesh.token("twin", "worker")}` } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect([(err as ConnectError).code, (err as ConnectError).rawMessage, errorDetailOf(err as ConnectError)?.reason]).toEqual([
        Code.PermissionDenied,
        "agent twin may not offer test.echo: the gateway grants intents to agents in the file AGENTMESH_AGENT_OFFERS names (and by their static cards in AGENTMESH_AGENT_CARDS)",
        "intent_not_allowed",
      ]);
      expect(mesh.gateway.table.list()).toEqual([]);
    } finally {
      client.close();
      await mesh.stop();
    }
  });
});

describe("a bad offers file", () => {
  it.each<[string, unknown, (path: string) => string]>([
    ["a malformed entry", { agents: { copywriter: "copy.draft" } }, (path) => `${path}: agents.copywriter must be a list of intent names (lowercase words joined by dots)`],
    ["an agent with the gateway's name", { agents: { gateway: ["copy.draft"] } }, () => "no agent may be named gateway, the gateway's own name (AGENTMESH_AGENT_OFFERS, AGENTMESH_AGENT_CARDS)"],
  ])("stops the gateway from starting: %s", async (_name, doc, message) => {
    await ensureDevKeys(join(home, "keys"));
    const path = join(home, "bad-offers.json");
    writeFileSync(path, JSON.stringify(doc));
    await expect(startGateway(readGatewayConfig({ ...env, AGENTMESH_AGENT_OFFERS: path }), { logger: createLogger("test", "error") })).rejects.toThrow(new Error(message(path)));
  });
});

describe("config/agent-offers.json", () => {
  it("grants each agent that `agentmesh up` starts exactly the intents its service defines", () => {
    const doc = JSON.parse(readFileSync(agentOffersPath, "utf8")) as { agents: Record<string, string[]> };
    expect(doc).toEqual({
      agents: {
        supervisor: [launchCampaignIntent],
        summarizer: [summarizeIntent],
        copywriter: [draftCopyIntent, draftCampaignIntent, withdrawCampaignIntent],
        segmenter: [segmentLeadsIntent],
        publisher: [publishContentIntent, schedulePublishIntent, unschedulePublishIntent],
        budgeter: [reserveBudgetIntent, releaseBudgetIntent],
      },
    });
    expect(Object.keys(doc.agents).sort()).toEqual(Object.keys(agentEntries).sort());
  });
});
