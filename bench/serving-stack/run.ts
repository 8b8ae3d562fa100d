/**
 * Serving-stack benchmark: unary throughput and latency of
 *   (a) a @grpc/grpc-js server (gRPC) and
 *   (b) connect-node on http2.createServer (gRPC, and Connect with binary proto),
 * measured with h2load so that the load generator is not the bottleneck.
 *
 * Usage: npm run bench:serving-stack   (needs h2load: apt-get install nghttp2-client)
 * Env:   BENCH_REQUESTS (per measured run, default 20000), BENCH_ROUNDS (default 3),
 *        BENCH_WARMUP_SECONDS (per target, default 8).
 *
 * Each server runs in its own child process (this file re-run with `--serve KIND`);
 * h2load runs with one thread, so on 2 cores server and load generator get a core each.
 * Before the load and after it, the servers are checked to echo correctly: a
 * grpc-js client call to each, a Connect client call, and a raw HTTP/2 request
 * with the exact h2load body and headers whose HTTP status, grpc-status and
 * payload are checked (h2load only sees the HTTP status, and a gRPC error is
 * HTTP 200 too). Each target is warmed up for WARMUP_SECONDS, then measured
 * ROUNDS times with a fixed request count, the target order reversed every
 * other round. For every run the CPU time of the server, of h2load and of all
 * other processes is recorded; a run that other processes disturbed is retried
 * (within a bound). Results: a markdown table on stdout and
 * bench/results/serving-stack.json (gitignored).
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  EchoService,
  EchoRequestSchema,
  EchoResponseSchema,
  type EchoRequest,
} from "../../gen/agentmesh/bench/v1/echo_pb.js";
import {
  ECHO_PATH,
  startConnectEchoServer,
  startGrpcJsEchoServer,
  type EchoServer,
} from "./echo-servers.js";

type ServerKind = "grpc-js" | "connect-node";
type Protocol = "grpc" | "connect";
interface Target { server: ServerKind; protocol: Protocol }
interface Load { name: string; c: number; m: number }
/** One h2load run, latencies in milliseconds. */
interface RunResult { rps: number; p50: number; p99: number; mean: number; sd: number; max: number; h2loadTicks: number }
/**
 * CPU used during a run, in cores (1 = one core busy for the whole run).
 * `foreign` is what other processes on the machine took: machine - server - h2load.
 */
interface CpuUse { server: number; h2load: number; machine: number; foreign: number }

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 20000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 8);
const H2LOAD_TIMEOUT_MS = 90_000;
/** Other processes may use this many cores during a run before it is retried. */
const FOREIGN_CPU_LIMIT = 0.25;
/**
 * Contended runs are retried at most MAX_RETRIES times in all, and only in the
 * first RETRY_BUDGET_MS (as are waits for a quiet machine), so that the whole
 * benchmark stays under about 5 minutes even on a busy machine.
 */
const MAX_RETRIES = 4;
const RETRY_BUDGET_MS = 150_000;
const USER_HZ = 100; // clock ticks per second in /proc on Linux
const LOADS: Load[] = [{ name: "low", c: 2, m: 4 }, { name: "high", c: 8, m: 16 }];
const TARGETS: Target[] = [
  { server: "grpc-js", protocol: "grpc" },
  { server: "connect-node", protocol: "grpc" },
  { server: "connect-node", protocol: "connect" },
];
const HEADERS: Record<Protocol, Record<string, string>> = {
  grpc: { "content-type": "application/grpc", te: "trailers" },
  connect: { "content-type": "application/proto", "connect-protocol-version": "1" },
};
/** Encoded EchoRequest of exactly 100 bytes (tag + length + 98 payload bytes). */
const MESSAGE = toBinary(EchoRequestSchema, create(EchoRequestSchema, {
  payload: new Uint8Array(98).map((_, i) => 32 + (i % 95)),
}));

// ---------------------------------------------------------------- child mode

/** Child: start one server, report its port over IPC, close on "close". */
async function serve(kind: ServerKind): Promise<void> {
  const server = kind === "grpc-js" ? await startGrpcJsEchoServer() : await startConnectEchoServer();
  process.on("message", (msg) => {
    if (msg === "close") void server.close().then(() => process.exit(0));
  });
  process.on("disconnect", () => process.exit(0));
  process.send?.({ port: server.port });
}

/** Parent: fork a server child and wait for its port. */
function startChild(kind: ServerKind): Promise<{ child: ChildProcess; server: EchoServer }> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve", kind], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start`)), 20_000);
    child.once("exit", (code) => reject(new Error(`${kind} server exited early (${code})`)));
    child.once("message", (msg) => {
      clearTimeout(timer);
      const port = (msg as { port: number }).port;
      const close = () => new Promise<void>((res) => {
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", () => { clearTimeout(kill); res(); });
        child.send("close");
      });
      resolve({ child, server: { port, close } });
    });
  });
}

// ---------------------------------------------------------------- checks

function grpcFrame(msg: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  frame.set(msg, 5);
  return frame;
}

function assertEcho(what: string, payload: Uint8Array | undefined): void {
  const sent = fromBinary(EchoRequestSchema, MESSAGE).payload;
  if (!payload || Buffer.compare(Buffer.from(payload), Buffer.from(sent)) !== 0) {
    throw new Error(`${what}: response payload does not match the request`);
  }
}

/** One call with a grpc-js client (gRPC protocol). */
function grpcJsClientCall(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO_PATH,
      (m: EchoRequest) => Buffer.from(toBinary(EchoRequestSchema, m)),
      (b: Buffer) => fromBinary(EchoResponseSchema, b),
      fromBinary(EchoRequestSchema, MESSAGE),
      (err, res) => {
        client.close();
        if (err) return reject(new Error(`grpc-js client call failed: ${err.message}`));
        try { assertEcho("grpc-js client", res?.payload); resolve(); } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
      },
    );
  });
}

/** One call with a connect-node client (Connect protocol, binary). */
async function connectClientCall(port: number): Promise<void> {
  const transport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2", useBinaryFormat: true,
  });
  const res = await createClient(EchoService, transport).echo(fromBinary(EchoRequestSchema, MESSAGE));
  assertEcho("Connect client", res.payload);
}

/** The exact h2load request, sent once by hand: checks HTTP status, grpc-status and body. */
function rawCheck(port: number, protocol: Protocol, body: Buffer): Promise<void> {
  const what = `raw ${protocol} request`;
  return new Promise<void>((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": ECHO_PATH, ...HEADERS[protocol] });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on("response", (h) => { headers = h; });
    req.on("trailers", (t: http2.IncomingHttpHeaders) => { trailers = t; });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      session.close();
      try {
        const data = Buffer.concat(chunks);
        if (Number(headers[":status"]) !== 200) throw new Error(`${what}: HTTP ${String(headers[":status"])}`);
        if (protocol === "grpc") {
          const status = String(trailers["grpc-status"] ?? headers["grpc-status"]);
          if (status !== "0") throw new Error(`${what}: grpc-status ${status} ${String(trailers["grpc-message"] ?? "")}`);
          if (data[0] !== 0 || data.readUInt32BE(1) !== data.length - 5) throw new Error(`${what}: bad frame`);
          assertEcho(what, fromBinary(EchoResponseSchema, data.subarray(5)).payload);
        } else {
          assertEcho(what, fromBinary(EchoResponseSchema, data).payload);
        }
        resolve();
      } catch (e) { reject(e instanceof Error ? e : new Error(String(e))); }
    });
    req.end(body);
  });
}

// ---------------------------------------------------------------- h2load

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value);
  if (!m) throw new Error(`unparsable h2load time: ${value}`);
  return Number(m[1]) * ({ us: 1e-3, ms: 1, s: 1e3 } as const)[m[2] as "us" | "ms" | "s"];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Busy CPU ticks of the whole machine. */
function machineTicks(): number {
  const [, ...f] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).map(Number);
  return f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0); // minus idle and iowait
}

/** CPU ticks: [busy ticks of the whole machine, ticks of process `pid`]. */
function cpuTicks(pid: number): [number, number] {
  // /proc/PID/stat: fields after the ")" of the command name; utime, stime are 14th, 15th.
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = st.slice(st.lastIndexOf(")") + 2).split(" ").map(Number);
  return [machineTicks(), (rest[11] ?? 0) + (rest[12] ?? 0)];
}

/** Waits (at most 5 s, and not past `deadline`) until the machine is nearly idle. */
async function waitForQuiet(deadline: number): Promise<void> {
  for (let i = 0; i < 10 && Date.now() < deadline; i++) {
    const t0 = machineTicks();
    await new Promise((r) => setTimeout(r, 500));
    if ((machineTicks() - t0) / (USER_HZ / 2) < FOREIGN_CPU_LIMIT) return;
  }
}

/** Spec of one h2load run: a fixed request count, or a duration (warm-up). */
type Amount = { n: number } | { seconds: number };

/** Runs h2load once against `port`; throws unless every request got a 2xx. */
async function h2load(port: number, protocol: Protocol, load: Load, amount: Amount, bodyFile: string, logFile: string): Promise<RunResult> {
  rmSync(logFile, { force: true }); // h2load appends to an existing log file
  const args = [
    `http://127.0.0.1:${port}${ECHO_PATH}`, "-c", String(load.c), "-m", String(load.m), "-t", "1",
    ...("n" in amount ? ["-n", String(amount.n)] : ["-D", String(amount.seconds)]),
    "-d", bodyFile, "--log-file", logFile,
    ...Object.entries(HEADERS[protocol]).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
  ];
  const out = await new Promise<string>((resolve, reject) => {
    // Through sh, which reports the CPU ticks of its waited-for child (h2load).
    const script = 'h2load "$@"; rc=$?; echo "h2load-cpu-ticks $(cut -d" " -f16,17 /proc/$$/stat)"; exit $rc';
    const p = spawn("sh", ["-c", script, "sh", ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    p.stdout.on("data", (d: Buffer) => { text += d.toString(); });
    const timer = setTimeout(() => p.kill("SIGKILL"), H2LOAD_TIMEOUT_MS);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(text); else reject(new Error(`h2load exited ${code}:\n${text}`));
    });
  });
  const rps = /finished in \S+, ([\d.]+) req\/s/.exec(out);
  const reqs = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(out);
  const codes = /status codes: (\d+) 2xx/.exec(out);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  const ticks = /h2load-cpu-ticks (\d+) (\d+)/.exec(out);
  if (!rps || !reqs || !codes || !time || !ticks) throw new Error(`unexpected h2load output:\n${out}`);
  const [done, succeeded, ok2xx] = [Number(reqs[1]), Number(reqs[2]), Number(codes[1])];
  // A timed run stops with streams in flight: those may count as 2xx but not as done.
  const countsOk = "n" in amount ? done === amount.n && ok2xx === done : ok2xx >= done;
  if (done === 0 || succeeded !== done || !countsOk) {
    throw new Error(`h2load: ${done} done, ${succeeded} succeeded, ${ok2xx} 2xx:\n${out}`);
  }
  // Per-request durations (µs) from the log file give exact percentiles.
  const durations = readFileSync(logFile, "utf8").trim().split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000).sort((a, b) => a - b);
  return {
    rps: Number(rps[1]), p50: percentile(durations, 50), p99: percentile(durations, 99),
    mean: toMs(time[3]!), sd: toMs(time[4]!), max: toMs(time[2]!),
    h2loadTicks: Number(ticks[1]) + Number(ticks[2]),
  };
}

// ---------------------------------------------------------------- report

const key = (t: Target, l: Load) => `${t.server}|${t.protocol}|${l.name}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, d = 0) => x.toFixed(d);
/** One measured run with its CPU accounting; `contended` if others exceeded FOREIGN_CPU_LIMIT. */
type Measured = RunResult & { cpu: CpuUse; contended: boolean; attempts: number };

function summarize(runs: Measured[]) {
  const rps = runs.map((r) => r.rps);
  return {
    rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
    p50Ms: median(runs.map((r) => r.p50)), p99Ms: median(runs.map((r) => r.p99)),
    meanMs: median(runs.map((r) => r.mean)), maxMs: Math.max(...runs.map((r) => r.max)),
    serverCpuCores: median(runs.map((r) => r.cpu.server)),
    h2loadCpuCores: median(runs.map((r) => r.cpu.h2load)),
    foreignCpuCoresMax: Math.max(...runs.map((r) => r.cpu.foreign)),
    contendedRuns: runs.filter((r) => r.contended).length,
  };
}

function table(results: Map<string, Measured[]>): string {
  const lines = [
    "| server | protocol | load | req/s median (min–max) | p50 ms | p99 ms | max ms | vs grpc-js | server CPU | h2load CPU | others' CPU (max) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const l of LOADS) {
    const base = summarize(results.get(key(TARGETS[0]!, l))!).rps.median;
    for (const t of TARGETS) {
      const s = summarize(results.get(key(t, l))!);
      lines.push(`| ${t.server} | ${t.protocol} | c=${l.c} m=${l.m} | ${fmt(s.rps.median)} (${fmt(s.rps.min)}–${fmt(s.rps.max)}) | ` +
        `${fmt(s.p50Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${fmt(s.maxMs, 1)} | ${fmt(s.rps.median / base, 2)} | ` +
        `${fmt(s.serverCpuCores, 2)} | ${fmt(s.h2loadCpuCores, 2)} | ${fmt(s.foreignCpuCoresMax, 2)}${s.contendedRuns ? ` (${s.contendedRuns} contended)` : ""} |`);
    }
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

/**
 * One measured run of `t` at load `l`, with CPU accounting. A run during which
 * other processes took more than FOREIGN_CPU_LIMIT cores is retried (after
 * waiting for a quiet machine) while retries and the time budget last.
 */
let retriesLeft = MAX_RETRIES;
async function measure(t: Target, l: Load, pid: number, port: number, bodyFile: string, logFile: string, deadline: number): Promise<Measured> {
  for (let attempt = 1; ; attempt++) {
    await waitForQuiet(deadline);
    const [busy0, proc0] = cpuTicks(pid);
    const t0 = process.hrtime.bigint();
    const r = await h2load(port, t.protocol, l, { n: REQUESTS }, bodyFile, logFile);
    const [busy1, proc1] = cpuTicks(pid);
    const ticks = (Number(process.hrtime.bigint() - t0) / 1e9) * USER_HZ;
    const cpu = { server: (proc1 - proc0) / ticks, h2load: r.h2loadTicks / ticks, machine: (busy1 - busy0) / ticks, foreign: 0 };
    cpu.foreign = Math.max(0, cpu.machine - cpu.server - cpu.h2load);
    const contended = cpu.foreign > FOREIGN_CPU_LIMIT;
    console.error(`${t.server}/${t.protocol} c=${l.c} m=${l.m}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50, 2)} ms, ` +
      `p99 ${fmt(r.p99, 2)} ms; CPU server ${fmt(cpu.server, 2)}, h2load ${fmt(cpu.h2load, 2)}, others ${fmt(cpu.foreign, 2)}` +
      (contended ? " (contended)" : ""));
    if (!contended || retriesLeft === 0 || Date.now() > deadline) return { ...r, cpu, contended, attempts: attempt };
    retriesLeft--;
  }
}

async function main(): Promise<void> {
  const version = spawnSync("h2load", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    console.error("h2load not found: install it with `apt-get install nghttp2-client` (Debian/Ubuntu).");
    process.exit(1);
  }
  const started = Date.now();
  const dir = mkdtempSync(join(os.tmpdir(), "serving-stack-"));
  const bodies: Record<Protocol, string> = { grpc: join(dir, "grpc.bin"), connect: join(dir, "connect.bin") };
  writeFileSync(bodies.grpc, grpcFrame(MESSAGE));
  writeFileSync(bodies.connect, MESSAGE);
  const logFile = join(dir, "h2load.log");
  const results = new Map<string, Measured[]>(TARGETS.flatMap((t) => LOADS.map((l) => [key(t, l), []])));

  const kinds: ServerKind[] = ["grpc-js", "connect-node"];
  const servers = new Map<ServerKind, { child: ChildProcess; server: EchoServer }>();
  try {
    for (const kind of kinds) servers.set(kind, await startChild(kind));
    const of = (t: Target) => servers.get(t.server)!;
    // Correctness first: a gRPC error would also count as HTTP 200 in h2load.
    for (const kind of kinds) await grpcJsClientCall(servers.get(kind)!.server.port);
    await connectClientCall(servers.get("connect-node")!.server.port);
    for (const t of TARGETS) await rawCheck(of(t).server.port, t.protocol, readFileSync(bodies[t.protocol]));
    for (const t of TARGETS) {
      await h2load(of(t).server.port, t.protocol, LOADS[LOADS.length - 1]!, { seconds: WARMUP_SECONDS }, bodies[t.protocol], logFile);
    }
    const deadline = started + RETRY_BUDGET_MS;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? TARGETS : [...TARGETS].reverse();
      console.error(`round ${round + 1}`);
      for (const l of LOADS) {
        for (const t of order) {
          const { child, server } = of(t);
          results.get(key(t, l))!.push(await measure(t, l, child.pid!, server.port, bodies[t.protocol], logFile, deadline));
        }
      }
    }
    // Still correct after the load.
    for (const t of TARGETS) await rawCheck(of(t).server.port, t.protocol, readFileSync(bodies[t.protocol]));
  } finally {
    for (const { server } of servers.values()) await server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const md = table(results);
  console.log(`\n${md}\n`);
  const outDir = fileURLToPath(new URL("../results/", import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version,
      h2load: version.stdout.trim().split("\n")[0], kernel: os.release(),
    },
    config: {
      requestsPerRun: REQUESTS, rounds: ROUNDS, warmupSecondsPerTarget: WARMUP_SECONDS,
      messageBytes: MESSAGE.length, loads: LOADS, h2loadThreads: 1,
      foreignCpuLimitCores: FOREIGN_CPU_LIMIT, maxRetries: MAX_RETRIES, retryBudgetSeconds: RETRY_BUDGET_MS / 1000,
    },
    durationSeconds: (Date.now() - started) / 1000,
    results: TARGETS.flatMap((t) => LOADS.map((l) => ({
      ...t, load: l, summary: summarize(results.get(key(t, l))!), rounds: results.get(key(t, l)),
    }))),
    markdown: md,
  };
  writeFileSync(join(outDir, "serving-stack.json"), JSON.stringify(json, null, 2) + "\n");
  console.log(`figures written to bench/results/serving-stack.json (${fmt(json.durationSeconds)} s)`);
  process.exit(0);
}

const serveIndex = process.argv.indexOf("--serve");
if (serveIndex >= 0) {
  await serve(process.argv[serveIndex + 1] as ServerKind);
} else {
  await main();
}
