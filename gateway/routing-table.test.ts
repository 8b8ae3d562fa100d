import { create } from "@bufbuild/protobuf";
import type { JsonObject } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { beforeEach, describe, expect, it } from "vitest";
import { AgentCardSchema, AgentEntrySchema, AgentInstanceSchema, Protocol } from "../gen/agentmesh/v1/registry_pb.js";
import type { AgentCard } from "../gen/agentmesh/v1/registry_pb.js";
import { createRoutingTable } from "./routing-table.js";
import type { Replica, RoutingTable, RoutingTableOptions } from "./routing-table.js";

const draftSchema: JsonObject = { type: "object", required: ["brief"] };
const summarizeSchema: JsonObject = { type: "object", required: ["text"] };

function card(name: string, address: string, intents: { name: string; inputSchema?: JsonObject }[]): AgentCard {
  return create(AgentCardSchema, {
    name,
    version: "1.0.0",
    intents,
    endpoints: [
      { protocol: Protocol.GRPC, address },
      { protocol: Protocol.CONNECT, address: `http://${address}` },
    ],
  });
}

const copywriter = (address: string) => card("copywriter", address, [{ name: "copy.draft", inputSchema: draftSchema }]);
const summarizer = (address: string) => card("summarizer", address, [{ name: "text.summarize", inputSchema: summarizeSchema }]);
const replica = (agent: string, instanceId: string, address: string): Replica => ({ agent, instanceId, address });

const r1 = replica("copywriter", "i-1", "10.0.0.1:50051");
const r2 = replica("copywriter", "i-2", "10.0.0.2:50051");

describe("createRoutingTable", () => {
  let t: number;
  let table: RoutingTable;
  const tableWith = (options: Partial<RoutingTableOptions> = {}) => createRoutingTable({ leaseTtlMs: 10_000, now: () => t, ...options });

  beforeEach(() => {
    t = Date.UTC(2030, 0, 1);
    table = tableWith();
  });

  it("picks a registered replica for its intent and nothing for other intents", () => {
    table.register(copywriter(r1.address), "i-1");
    expect(table.pick("copy.draft")).toEqual([r1]);
    expect(table.pick("text.summarize")).toEqual([]);
  });

  it("refuses to register a card without a gRPC endpoint", () => {
    const connectOnly = create(AgentCardSchema, { name: "webby", endpoints: [{ protocol: Protocol.CONNECT, address: "http://10.0.0.9:8080" }] });
    expect(() => table.register(connectOnly, "i-1")).toThrow(new Error("card webby has no gRPC endpoint"));
    expect(table.list()).toEqual([]);
  });

  it("rotates round-robin across two replicas", () => {
    table.register(copywriter(r1.address), "i-1");
    table.register(copywriter(r2.address), "i-2");
    expect([table.pick("copy.draft"), table.pick("copy.draft"), table.pick("copy.draft")]).toEqual([
      [r1, r2],
      [r2, r1],
      [r1, r2],
    ]);
  });

  it("replaces a re-registered replica, taking its new address and ending its back-off", () => {
    table.register(copywriter(r1.address), "i-1");
    table.markFailure(r1);
    table.register(copywriter("10.0.0.7:50051"), "i-1");
    expect(table.pick("copy.draft")).toEqual([replica("copywriter", "i-1", "10.0.0.7:50051")]);
  });

  it("drops a replica when its lease runs out", () => {
    table.register(copywriter(r1.address), "i-1");
    t += 9_999;
    expect(table.pick("copy.draft")).toEqual([r1]);
    t += 1;
    expect(table.pick("copy.draft")).toEqual([]);
    expect(table.list()).toEqual([]);
    expect(table.heartbeat("copywriter", "i-1")).toBe(false);
  });

  it("renews a lease on heartbeat, and refuses a heartbeat once the lease ran out", () => {
    table.register(copywriter(r1.address), "i-1");
    t += 9_000;
    expect(table.heartbeat("copywriter", "i-1")).toBe(true);
    t += 9_000;
    expect(table.pick("copy.draft")).toEqual([r1]);
    t += 1_000;
    expect(table.heartbeat("copywriter", "i-1")).toBe(false);
    expect(table.pick("copy.draft")).toEqual([]);
  });

  it.each<[string, string, string]>([
    ["an unknown instance", "copywriter", "i-9"],
    ["an unknown agent", "nobody", "i-1"],
  ])("refuses a heartbeat from %s", (_name, agent, instanceId) => {
    table.register(copywriter(r1.address), "i-1");
    expect(table.heartbeat(agent, instanceId)).toBe(false);
  });

  it("forgets a deregistered replica", () => {
    table.register(copywriter(r1.address), "i-1");
    table.register(copywriter(r2.address), "i-2");
    table.deregister("copywriter", "i-1");
    expect(table.pick("copy.draft")).toEqual([r2]);
    expect(table.heartbeat("copywriter", "i-1")).toBe(false);
  });

  it("backs a failing replica off, doubling up to the maximum, until a success restores it", () => {
    table = tableWith({ backoffMs: 1_000, maxBackoffMs: 4_000 });
    table.register(copywriter(r1.address), "i-1");
    const start = t;
    const healthyAt = (ms: number) => {
      t = ms;
      table.heartbeat("copywriter", "i-1");
      return table.pick("copy.draft").length === 1;
    };

    table.markFailure(r1);
    expect([healthyAt(start + 999), healthyAt(start + 1_000)]).toEqual([false, true]);
    table.markFailure(r1);
    expect([healthyAt(start + 2_999), healthyAt(start + 3_000)]).toEqual([false, true]);
    table.markFailure(r1);
    expect([healthyAt(start + 6_999), healthyAt(start + 7_000)]).toEqual([false, true]);
    table.markFailure(r1);
    expect([healthyAt(start + 10_999), healthyAt(start + 11_000)]).toEqual([false, true]);

    table.markFailure(r1);
    expect(healthyAt(start + 11_001)).toBe(false);
    table.markSuccess(r1);
    expect(healthyAt(start + 11_001)).toBe(true);
    // After a success the next failure starts again from the first back-off.
    table.markFailure(r1);
    expect([healthyAt(start + 12_000), healthyAt(start + 12_001)]).toEqual([false, true]);
  });

  it("defaults the first back-off to one second", () => {
    table.register(copywriter(r1.address), "i-1");
    table.markFailure(r1);
    t += 999;
    expect(table.pick("copy.draft")).toEqual([]);
    t += 1;
    expect(table.pick("copy.draft")).toEqual([r1]);
  });

  it("ignores failures and successes of unknown replicas", () => {
    table.register(copywriter(r1.address), "i-1");
    table.markFailure(replica("copywriter", "i-9", r1.address));
    table.markSuccess(replica("copywriter", "i-9", r1.address));
    expect(table.pick("copy.draft")).toEqual([r1]);
  });

  it("keeps static replicas (gRPC endpoints only) forever and refuses heartbeats for them", () => {
    table.addStatic(copywriter(r1.address));
    const staticReplica = replica("copywriter", `static:${r1.address}`, r1.address);
    t += 365 * 24 * 3_600_000;
    expect(table.pick("copy.draft")).toEqual([staticReplica]);
    expect(table.heartbeat("copywriter", staticReplica.instanceId)).toBe(false);
  });

  it("leaves out replicas whose address is excluded", () => {
    table.register(copywriter(r1.address), "i-1");
    table.register(copywriter(r2.address), "i-2");
    expect(table.pick("copy.draft", new Set([r1.address]))).toEqual([r2]);
    expect(table.pick("copy.draft", new Set([r1.address, r2.address]))).toEqual([]);
    expect(table.pick("copy.draft", new Set())).toHaveLength(2);
  });

  it("lists agents by name with their live replicas, filtered by intent when one is given", () => {
    table = tableWith({ backoffMs: 1_000 });
    table.register(summarizer("10.0.0.3:50051"), "s-1");
    table.register(copywriter(r1.address), "i-1");
    t += 5_000;
    table.register(copywriter(r2.address), "i-2");
    table.addStatic(copywriter("10.0.0.4:50051"));
    table.markFailure(r2);

    const instance = (c: AgentCard, instanceId: string, leaseExpiresAt: number | undefined, healthy: boolean) =>
      create(AgentInstanceSchema, {
        instanceId,
        endpoints: c.endpoints,
        leaseExpiresAt: leaseExpiresAt === undefined ? undefined : timestampFromMs(leaseExpiresAt),
        healthy,
      });
    const start = t - 5_000;
    const copywriterEntry = create(AgentEntrySchema, {
      card: { ...copywriter(r1.address), endpoints: [] },
      instances: [
        instance(copywriter(r1.address), "i-1", start + 10_000, true),
        instance(copywriter(r2.address), "i-2", start + 15_000, false),
        instance(copywriter("10.0.0.4:50051"), "static:10.0.0.4:50051", undefined, true),
      ],
    });
    const summarizerEntry = create(AgentEntrySchema, {
      card: { ...summarizer("10.0.0.3:50051"), endpoints: [] },
      instances: [instance(summarizer("10.0.0.3:50051"), "s-1", start + 10_000, true)],
    });

    expect(table.list()).toEqual([copywriterEntry, summarizerEntry]);
    expect(table.list("")).toEqual([copywriterEntry, summarizerEntry]);
    expect(table.list("text.summarize")).toEqual([summarizerEntry]);
    expect(table.list("no.such")).toEqual([]);
  });

  it("answers the input schema of an intent from the most recent registration that declares it, live or not", () => {
    table.register(card("copywriter-2", r2.address, [{ name: "copy.draft", inputSchema: { type: "object" } }]), "i-2");
    table.register(copywriter(r1.address), "i-1");
    expect(table.inputSchema("copy.draft")).toEqual(draftSchema);
    expect(table.inputSchema("no.such")).toBeUndefined();

    table.deregister("copywriter", "i-1");
    t += 60_000;
    expect(table.pick("copy.draft")).toEqual([]);
    expect([table.knows("copy.draft"), table.knows("no.such")]).toEqual([true, false]);
    expect(table.inputSchema("copy.draft")).toEqual(draftSchema);
  });

  it("answers the input schema of an intent from the first static card that declares it, whatever registrations say", () => {
    table.addStatic(summarizer("10.0.0.3:50051"));
    table.addStatic(card("summarizer-2", "10.0.0.4:50051", [{ name: "text.summarize", inputSchema: { type: "object" } }]));
    table.register(card("summarizer-3", "10.0.0.5:50051", [{ name: "text.summarize", inputSchema: { type: "object" } }]), "s-3");
    expect([table.knows("text.summarize"), table.inputSchema("text.summarize")]).toEqual([true, summarizeSchema]);
  });
});
