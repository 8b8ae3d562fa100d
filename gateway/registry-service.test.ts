import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentCardSchema } from "../gen/agentmesh/v1/registry_pb.js";
import { grantStaticCards, parseAgentOffers } from "./registry-service.js";

describe("parseAgentOffers", () => {
  it("reads each agent's intents", () => {
    expect(parseAgentOffers({ agents: { copywriter: ["copy.draft"], supervisor: ["campaign.launch", "copy.draft"], idle: [] } }, "offers.json")).toEqual(
      new Map([
        ["copywriter", new Set(["copy.draft"])],
        ["supervisor", new Set(["campaign.launch", "copy.draft"])],
        ["idle", new Set()],
      ]),
    );
  });

  it.each<[string, unknown, string]>([
    ["a list at the top", [], 'offers.json: must be {"agents": {"<agent name>": ["<intent>", ...]}}'],
    ["no agents", {}, 'offers.json: must be {"agents": {"<agent name>": ["<intent>", ...]}}'],
    ["agents as a list", { agents: [{ copywriter: ["copy.draft"] }] }, 'offers.json: must be {"agents": {"<agent name>": ["<intent>", ...]}}'],
    ["an agent name that is not one", { agents: { "Copy Writer": ["copy.draft"] } }, 'offers.json: agents: "Copy Writer" is not a lowercase agent name'],
    ["one intent instead of a list", { agents: { copywriter: "copy.draft" } }, "offers.json: agents.copywriter must be a list of intent names (lowercase words joined by dots)"],
    ["a malformed intent name", { agents: { copywriter: ["Copy Draft"] } }, "offers.json: agents.copywriter must be a list of intent names (lowercase words joined by dots)"],
    ["an intent that is not a string", { agents: { copywriter: [7] } }, "offers.json: agents.copywriter must be a list of intent names (lowercase words joined by dots)"],
  ])("throws for %s", (_name, doc, message) => {
    expect(() => parseAgentOffers(doc, "offers.json")).toThrow(new Error(message));
  });
});

describe("grantStaticCards", () => {
  it("adds each static card's intents to its agent's grants", () => {
    const offers = new Map([["copywriter", new Set(["copy.draft"])]]);
    grantStaticCards(offers, [
      create(AgentCardSchema, { name: "copywriter", intents: [{ name: "copy.review" }] }),
      create(AgentCardSchema, { name: "summarizer", intents: [{ name: "docs.summarize" }, { name: "docs.outline" }] }),
    ]);
    expect(offers).toEqual(
      new Map([
        ["copywriter", new Set(["copy.draft", "copy.review"])],
        ["summarizer", new Set(["docs.summarize", "docs.outline"])],
      ]),
    );
  });
});
