/**
 * End to end, as a user runs it: `agentmesh up` starts the gateway and every
 * agent as separate processes, under the committed policy; `agentmesh delegate`
 * hands the demo goal to the supervisor (as operator), whose publish step waits
 * for a human until `agentmesh approvals approve` approves it (as the user erin);
 * and Ctrl-C stops everything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AuditKind, AuditService } from "../gen/agentmesh/v1/audit_pb.js";
import { createGrpcClient, issueToken, loadSigningKey } from "../mesh/index.js";

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), "agentmesh-e2e-"));
const env = { ...process.env, AGENTMESH_HOME: home, FORCE_COLOR: "0", USER: "erin" };
let up: ChildProcess;
let output = "";
let port = 0;

/** A free loopback port (bind to 0, read it, release it). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * How many journal lines each service wrote for `taskId` and its sub-tasks: an
 * execution writes one when it starts and one when it ends (and a task held for
 * approval one more when it is held), so an unchanged count means nothing ran
 * again.
 */
function journalLines(taskId: string): Record<string, number> {
  const dir = join(home, "data");
  return Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith(".tasks.jsonl")).sort().map((f) => {
    const ids = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l !== "").map((l) => (JSON.parse(l) as { t: string }).t);
    return [f, ids.filter((t) => t === taskId || t.startsWith(`${taskId}.`)).length];
  }));
}

/** Trace id of the first delegation of e2e-1, as the result tree printed it. */
let firstTraceId = "";
/** The approval of e2e-1's publish step. */
let approvalId = "";

const cli = (...args: string[]) => run(process.execPath, ["bin/agentmesh.js", ...args], { env, timeout: 60_000 });

beforeAll(async () => {
  port = await freePort();
  const connectPort = await freePort();
  up = spawn(process.execPath, ["bin/agentmesh.js", "up", "--port", String(port), "--connect-port", String(connectPort)], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  up.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  up.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes("agentmesh is up")) {
        clearInterval(timer);
        resolve();
      } else if (up.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`agentmesh up exited:\n${output}`));
      }
    }, 100);
  });
}, 90_000);

afterAll(() => {
  // The whole process group: `up` and the services it started, also when a filtered run skipped the Ctrl-C test.
  if (up.exitCode === null) process.kill(-up.pid!, "SIGKILL");
  rmSync(home, { recursive: true, force: true });
});

describe("agentmesh up + delegate", () => {
  it("starts every service as its own process and waits for their registration", () => {
    for (const name of ["gateway", "supervisor", "summarizer", "copywriter", "segmenter", "publisher"]) {
      expect(output).toMatch(new RegExp(`${name}\\s+│ info  serving`));
    }
  });

  it("delegates the demo goal, waits for the publish step's approval, and prints the result tree with rolled-up cost once it is approved", async () => {
    const gateway = `127.0.0.1:${port}`;
    const delegated = cli("delegate", "--intent", "campaign.launch", "--input", "examples/campaign-launch.json", "--task-id", "e2e-1", "--gateway", gateway);
    let listed = "";
    for (const deadline = Date.now() + 30_000; !listed.includes("(task e2e-1.publish, depth 1)") && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 200));
      listed = (await cli("approvals", "list", "--gateway", gateway)).stdout;
    }
    const [head, asked] = listed.split("\n");
    approvalId = /^(apr-[0-9a-f-]{36}) {2}pending {2}content\.publish → publisher {2}\(task e2e-1\.publish, depth 1\)$/.exec(head ?? "")?.[1] ?? "";
    expect([approvalId, asked]).toEqual([expect.stringMatching(/^apr-/), expect.stringMatching(/^ {2}requested by supervisor at /)]);
    expect(readdirSync(home)).not.toContain("outbox");
    const { stdout: decided } = await cli("approvals", "approve", approvalId, "--reason", "copy reviewed", "--gateway", gateway);
    expect(decided).toBe(`approved ${approvalId} by erin: content.publish (task e2e-1.publish) — the task runs as it was asked\n`);
    const { stdout } = await delegated;
    firstTraceId = /^trace id: ([0-9a-f]{32})$/m.exec(stdout)?.[1] ?? "";
    expect(firstTraceId).not.toBe("");
    const tree = stdout.split("\n").slice(0, 5);
    expect(tree[0]).toMatch(/^✔ campaign\.launch → supervisor {2}\[completed\] {2}confidence \d\.\d\d {2}cost: 14 tool calls, 0 tokens, \$0\.000000, [\d.]+ ms {2}\(task e2e-1\)$/);
    expect(tree.slice(1).map((l) => l.replace(/ {2}confidence.*$/, "")).sort()).toEqual([
      "│  └─ ✔ docs.summarize → summarizer  [completed]",
      "├─ ✔ copy.draft → copywriter  [completed]",
      "├─ ✔ leads.segment → segmenter  [completed]",
      "└─ ✔ content.publish → publisher  [completed]",
    ].sort());
    const outbox = readdirSync(join(home, "outbox"));
    expect(outbox).toEqual(["e2e-1.publish.json"]);
    expect(JSON.parse(readFileSync(join(home, "outbox", outbox[0]!), "utf8"))).toMatchObject({ taskId: "e2e-1.publish", channel: "email" });
  });

  it("keeps the approval in the gateway's audit log, with the approver, the decision, the task and the trace", async () => {
    const client = createGrpcClient(`127.0.0.1:${port}`);
    try {
      const token = await issueToken(await loadSigningKey(join(home, "keys", "signing-key.jwk.json")), { subject: "audrey", role: "auditor", ttlSeconds: 60 });
      const { records } = await client.unary(AuditService.method.queryDecisions, { taskId: "e2e-1.publish" }, { metadata: { authorization: `Bearer ${token}` }, deadline: Date.now() + 10_000 });
      const decisions = records.filter((r) => r.kind === AuditKind.APPROVAL_DECISION);
      expect(decisions.map((r) => [r.service, r.caller, r.callerRole, r.approvalId, r.approvalDecision, r.intent, r.target, r.traceId, r.decision?.reasons.at(-1)?.message])).toEqual([
        ["gateway", "erin", "approver", approvalId, "approve", "content.publish", "publisher", firstTraceId, "approved by erin: copy reviewed"],
      ]);
    } finally {
      client.close();
    }
  });

  it("returns the stored result for a repeated task id without running or publishing again", async () => {
    const journals = journalLines("e2e-1");
    // Five tasks pass the gateway; the publish step's also wrote a line when the gateway held it for approval.
    expect(journals).toEqual({
      "budgeter.tasks.jsonl": 0, "copywriter.tasks.jsonl": 2, "gateway.tasks.jsonl": 11, "publisher.tasks.jsonl": 2,
      "segmenter.tasks.jsonl": 2, "summarizer.tasks.jsonl": 2, "supervisor.tasks.jsonl": 2,
    });
    const outboxFile = join(home, "outbox", "e2e-1.publish.json");
    const published = statSync(outboxFile);
    const { stdout } = await cli("delegate", "--intent", "campaign.launch", "--input", "examples/campaign-launch.json", "--task-id", "e2e-1", "--gateway", `127.0.0.1:${port}`, "--json");
    expect(JSON.parse(stdout)).toMatchObject({ taskId: "e2e-1", state: "TASK_STATE_COMPLETED", traceId: firstTraceId });
    expect(journalLines("e2e-1")).toEqual(journals);
    expect(readdirSync(join(home, "outbox"))).toEqual(["e2e-1.publish.json"]);
    expect([statSync(outboxFile).ino, statSync(outboxFile).mtimeMs]).toEqual([published.ino, published.mtimeMs]);
  });

  it("prints a task policy holds for a human with the commands that decide it, and a denied one ends REJECTED without running", async () => {
    const gateway = `127.0.0.1:${port}`;
    const file = join(home, "publish.json");
    writeFileSync(file, JSON.stringify({ channel: "email", title: "Beacon is here", body: "Beacon tracks every parcel, and setup takes a day." }));
    const { stdout } = await cli("delegate", "--intent", "content.publish", "--input", file, "--task-id", "e2e-2", "--gateway", gateway);
    const id = /^(apr-[0-9a-f-]{36}) {2}pending/m.exec(stdout)?.[1] ?? "";
    expect(stdout.split("\n").filter((l) => /^(…|policy holds|apr-| {4}\.\/bin)/.test(l))).toEqual([
      expect.stringMatching(/^… content\.publish → gateway {2}\[awaiting_approval\] .* \(task e2e-2\)$/),
      "policy holds task e2e-2 for a human decision; it runs once an approver approves it:",
      `${id}  pending  content.publish → publisher  (task e2e-2, depth 0)`,
      `    ./bin/agentmesh.js approvals approve ${id} --reason "reviewed the request" --gateway ${gateway}`,
      `    ./bin/agentmesh.js approvals deny ${id} --reason "not now" --gateway ${gateway}`,
    ]);
    const { stdout: decided } = await cli("approvals", "deny", id, "--reason", "wrong channel", "--gateway", gateway);
    expect(decided).toBe(`denied ${id} by erin: content.publish (task e2e-2) — the task ends REJECTED with the reason\n`);
    const { stdout: result } = await cli("result", "e2e-2", "--gateway", gateway);
    expect(result.split("\n")[0]).toMatch(/^✘ content\.publish → gateway {2}\[rejected\] .* \(task e2e-2\) {2}— denied by erin: wrong channel$/);
    const { stdout: asJson } = await cli("result", "e2e-2", "--json", "--gateway", gateway);
    expect((JSON.parse(asJson) as { state: string; error: { reason: string } })).toMatchObject({ state: "TASK_STATE_REJECTED", error: { reason: "approval_denied" } });
    expect(readdirSync(join(home, "outbox"))).toEqual(["e2e-1.publish.json"]);
  });

  it("reports bad inputs with the code's message and the field violations, exiting 1", async () => {
    const file = join(home, "bad.json");
    writeFileSync(file, JSON.stringify({ goal: "x" }));
    const err = await cli("delegate", "--intent", "campaign.launch", "--input", file, "--gateway", `127.0.0.1:${port}`).catch((e: unknown) => e as { code: number; stderr: string });
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr.split("\n")[0]).toBe(
      "error: [invalid_argument] inputs do not match the schema of campaign.launch: inputs.product is required; inputs.audience is required; inputs.tone is required (and 3 more) (reason: input_schema_violation)",
    );
  });

  it("queues a task, follows it to its end with tasks get --watch and lists it with tasks list", async () => {
    const gateway = `127.0.0.1:${port}`;
    const { stdout: queued } = await cli("delegate", "--intent", "leads.segment", "--input", "examples/segment-leads.json", "--task-id", "e2e-q1", "--queued", "--json", "--gateway", gateway);
    expect(["TASK_STATE_QUEUED", "TASK_STATE_WORKING"]).toContain((JSON.parse(queued) as { state: string }).state);
    const { stdout: watched } = await cli("tasks", "get", "e2e-q1", "--watch", "--json", "--gateway", gateway);
    expect(JSON.parse(watched)).toMatchObject({ taskId: "e2e-q1", intent: "leads.segment", agent: "segmenter", state: "TASK_STATE_COMPLETED" });
    const { stdout: listed } = await cli("tasks", "list", "--intent", "leads.segment", "--gateway", gateway);
    expect(listed.split("\n").filter((l) => l.startsWith("e2e-q1 "))).toEqual([expect.stringMatching(/^e2e-q1 {2}leads\.segment {2}completed {2}segmenter {2}\d{4}-/)]);
    const { stdout: dlq } = await cli("tasks", "dlq", "--gateway", gateway);
    expect(dlq).toBe("the dead-letter queue is empty\n");
  });

  it("mints a token that the mesh accepts", async () => {
    const { stdout: token } = await cli("token", "issue", "--subject", "carol", "--role", "auditor");
    const { stdout } = await run(process.execPath, ["bin/agentmesh.js", "agents", "--gateway", `127.0.0.1:${port}`], { env: { ...env, AGENTMESH_TOKEN: token.trim() } });
    expect(stdout).toContain("copywriter  intents: copy.draft");
  });

  it("stops every process on Ctrl-C", async () => {
    const exited = new Promise<number | null>((r) => up.once("exit", (code) => r(code)));
    up.kill("SIGINT");
    expect(await exited).toBe(0);
    for (const name of ["gateway", "supervisor", "summarizer", "copywriter", "segmenter", "publisher"]) {
      expect(output).toMatch(new RegExp(`${name}\\s+│ exited \\(code 0\\)`));
    }
  });
});
