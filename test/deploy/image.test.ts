/**
 * The Dockerfile, .dockerignore and the image's entry point, checked without
 * a Docker engine (none here): the Dockerfile is parsed; the runtime stage's
 * COPY lines are compared with what the services import, followed from their
 * entry points; the entry point script runs with a stand-in for node.
 */
import { execFile } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshProcesses } from "../../deploy/deploy-keys.js";
import { repoRoot } from "../../tools/tool-path.js";
import { mainContainer, meshWorkloads, renderedObjects } from "./support/rendered-manifests.js";
import { defaultPorts } from "./support/process-config.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Parses a Dockerfile into instructions (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n").replace(/\\\n/g, " ");
  return joined.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(" ") };
  });
}

/** Splits instructions into stages (each starting at FROM), resolving global ARG defaults in FROM. */
function stages(instructions: readonly Instruction[]) {
  const args = new Map<string, string>();
  const out: { from: string; name: string | undefined; body: Instruction[] }[] = [];
  for (const i of instructions) {
    if (i.op === "ARG" && out.length === 0) {
      const [k, v] = i.args.split("=");
      if (v !== undefined) args.set(k!, v);
    } else if (i.op === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!;
      out.push({ from: m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? ""), name: m[2], body: [] });
    } else {
      out.at(-1)!.body.push(i);
    }
  }
  return out;
}

/** Relative files reached from `entries` by static and dynamic imports, and the bare packages they import. */
async function importGraph(entries: readonly string[]): Promise<{ files: Set<string>; packages: Set<string> }> {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const code = await readFile(join(repoRoot, file), "utf8");
    // `import type` is erased: it needs nothing at run time.
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".")) {
        queue.push(normalize(join(dirname(file), spec.replace(/\.js$/, ".ts"))));
      } else if (!spec.startsWith("node:")) {
        packages.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
      }
    }
  }
  return { files, packages };
}

let instructions: Instruction[];
let dockerignore: string[];
const entryPoints = meshProcesses.map((s) => (s === "gateway" ? "gateway/main.ts" : `services/${s}/main.ts`));

beforeAll(async () => {
  instructions = parseDockerfile(await readFile(join(repoRoot, "Dockerfile"), "utf8"));
  dockerignore = (await readFile(join(repoRoot, ".dockerignore"), "utf8")).split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
});

describe("Dockerfile", () => {
  it("builds in two stages from one Node 20 base pinned to an exact release", async () => {
    const s = stages(instructions);
    expect(s.map((x) => x.name)).toEqual(["deps", "runtime"]);
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { engines: { node: string } };
    for (const { from } of s) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-[a-z0-9.-]+(@sha256:[0-9a-f]{64})?$/.exec(from);
      expect(m, from).not.toBeNull();
      const [major, minor] = pkg.engines.node.replace(/^>=/, "").split(".").map(Number);
      expect(Number(m![1]), from).toBe(major);
      expect(Number(m![2]), `${from} satisfies engines ${pkg.engines.node}`).toBeGreaterThanOrEqual(minor!);
    }
    expect(new Set(s.map((x) => x.from)).size).toBe(1);
  });

  it("installs production dependencies from the lock file in the first stage only", () => {
    const [deps, runtime] = stages(instructions);
    expect(deps!.body.filter((i) => i.op === "RUN").map((i) => i.args).join(" ")).toMatch(/\bnpm ci --omit=dev\b/);
    expect(deps!.body.some((i) => i.op === "COPY" && i.args.includes("package-lock.json"))).toBe(true);
    expect(runtime!.body.filter((i) => i.op === "RUN").map((i) => i.args).join(" ")).not.toMatch(/\bnpm\b/);
    expect(runtime!.body.some((i) => i.op === "COPY" && i.args === "--from=deps /app/node_modules ./node_modules")).toBe(true);
  });

  it("runs as the unprivileged node user (uid 1000, the manifests' runAsUser) with the service as argument", async () => {
    const runtime = stages(instructions).at(-1)!.body;
    const user = runtime.filter((i) => i.op === "USER").at(-1)?.args;
    expect(user).toBe("node");
    for (const w of meshWorkloads(await renderedObjects("dev"))) {
      expect(w.spec.template.spec.securityContext?.runAsUser).toBe(1000);
      expect(mainContainer(w).command, "the image's ENTRYPOINT runs").toBeUndefined();
    }
    const entrypoint = JSON.parse(runtime.find((i) => i.op === "ENTRYPOINT")!.args) as string[];
    const script = runtime.find((i) => i.op === "COPY" && i.args.endsWith(` ${entrypoint[0]}`));
    expect(script?.args).toBe(`deploy/docker/entrypoint.sh ${entrypoint[0]}`);
    expect(JSON.parse(runtime.find((i) => i.op === "CMD")!.args)).toEqual(["gateway"]);
  });

  it("exposes exactly the ports the mesh processes listen on by default (their config readers' defaults)", async () => {
    const runtime = stages(instructions).at(-1)!.body;
    const exposed = runtime.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/)).flatMap((spec) => {
      const m = /^(\d+)(?:-(\d+))?(?:\/tcp)?$/.exec(spec);
      if (m === null) throw new Error(`EXPOSE ${spec}: expected a TCP port or range`);
      const [from, to] = [Number(m[1]), Number(m[2] ?? m[1])];
      return Array.from({ length: to - from + 1 }, (_, k) => from + k);
    });
    const listened = (await Promise.all(meshProcesses.map(defaultPorts))).flat();
    expect([...new Set(exposed)].sort((a, b) => a - b)).toEqual([...new Set(listened)].sort((a, b) => a - b));
  });

  it("copies every file the services import, and every package they import is a production dependency", async () => {
    const runtime = stages(instructions).at(-1)!.body;
    const copied = runtime.filter((i) => i.op === "COPY" && !i.args.startsWith("--from")).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const { files, packages } = await importGraph(entryPoints);
    const uncopied = [...files].filter((f) => !copied.some((c) => f === c || f.startsWith(c.replace(/\/$/, "") + "/")));
    expect(uncopied).toEqual([]);
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect([...packages].filter((p) => pkg.dependencies[p] === undefined)).toEqual([]);
    // node --import tsx needs tsx itself at run time.
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(copied).toEqual(expect.arrayContaining(["package.json", "policy/build"]));
  });
});

describe(".dockerignore", () => {
  it("keeps local state, dependencies, history and tests out of the build context", () => {
    expect(dockerignore).toEqual(expect.arrayContaining([".git", "node_modules", ".agentmesh", "coverage", "scratch", "**/*.test.ts", ".env"]));
  });

  it("ignores nothing the Dockerfile copies", () => {
    const copied = instructions.filter((i) => i.op === "COPY" && !i.args.startsWith("--from")).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const path of copied) {
      const top = path.split("/")[0]!;
      expect(dockerignore.filter((p) => p === path || p === top || path.startsWith(p + "/")), path).toEqual([]);
    }
  });
});

describe("the image's entry point (deploy/docker/entrypoint.sh)", () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), "agentmesh-entrypoint-"));
    // A stand-in for node that prints what it was asked to run.
    await writeFile(join(bin, "node"), "#!/bin/sh\necho \"node $*\"\n");
    await chmod(join(bin, "node"), 0o755);
  });
  afterAll(() => rm(bin, { recursive: true, force: true }));

  const run = async (...args: string[]) => {
    try {
      const { stdout } = await promisify(execFile)("sh", [join(repoRoot, "deploy/docker/entrypoint.sh"), ...args], { cwd: repoRoot, env: { PATH: `${bin}:/usr/bin:/bin` } });
      return { code: 0, out: stdout.trim() };
    } catch (err) {
      const e = err as { code: number; stderr: string };
      return { code: e.code, out: e.stderr.trim() };
    }
  };

  it.each(meshProcesses)("runs %s from its own entry point with tsx", async (service) => {
    const entry = service === "gateway" ? "gateway/main.ts" : `services/${service}/main.ts`;
    expect(await run(service)).toEqual({ code: 0, out: `node --import tsx ${entry}` });
  });

  it.each([[[]], [["bogus"]], [["../gateway"]], [["shared"]]])("refuses %j with usage and status 64", async (args: string[]) => {
    const { code, out } = await run(...args);
    expect(code).toBe(64);
    expect(out).toMatch(/^usage: <service>, one of: gateway /);
  });

  it("accepts exactly the services the manifests run", async () => {
    const args = meshWorkloads(await renderedObjects("dev")).map((w) => mainContainer(w).args![0]!).sort();
    expect(args).toEqual([...meshProcesses].sort());
    const usage = (await run()).out;
    expect(usage.replace(/^usage: <service>, one of: /, "").split(/\s+/).sort()).toEqual(args);
  });
});
