// The contract of scripts/install-tool.sh: a path on stdout, a cache outside the
// checkout keyed by tool, version and go.mod+go.sum, reuse without Go, atomic
// builds, and a message that says how to get Go when it is missing.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testToolPath } from "../tools/test-tools.js";
import { installToolScript, repoRoot } from "../tools/index.js";

const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

function installTool(script: string, name: string, env: NodeJS.ProcessEnv = {}) {
  const started = performance.now();
  const result = spawnSync("bash", [script, name], { encoding: "utf8", env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started };
}

/**
 * PATH as it is, less every `go`: a directory that holds one is replaced by a
 * directory of links to everything else in it, so bash and coreutils stay.
 */
function pathWithoutGo(): string {
  const shadows = tempDir("agentmesh-nogo-");
  return (process.env.PATH ?? "")
    .split(delimiter)
    .map((dir, i) => {
      if (!existsSync(join(dir, "go"))) return dir;
      const shadow = join(shadows, String(i));
      mkdirSync(shadow);
      for (const name of readdirSync(dir)) if (name !== "go") symlinkSync(join(dir, name), join(shadow, name));
      return shadow;
    })
    .join(delimiter);
}

/** A copy of the script beside a tiny local tool module (a `replace` to ./src): builds in a second, offline. */
function fakeRepo(mainGo: string): { script: string; cache: string } {
  const root = tempDir("agentmesh-fake-repo-");
  mkdirSync(join(root, "scripts"));
  cpSync(installToolScript, join(root, "scripts", "install-tool.sh"));
  const mod = join(root, "tools", "hello");
  mkdirSync(join(mod, "src"), { recursive: true });
  writeFileSync(
    join(mod, "go.mod"),
    "module agentmesh/tools/hello\n\ngo 1.24\n\ntool example.com/hello\n\nrequire example.com/hello v0.0.0\n\nreplace example.com/hello => ./src\n",
  );
  writeFileSync(join(mod, "go.sum"), "");
  writeFileSync(join(mod, "src", "go.mod"), "module example.com/hello\n\ngo 1.24\n");
  writeFileSync(join(mod, "src", "main.go"), mainGo);
  return { script: join(root, "scripts", "install-tool.sh"), cache: join(root, "cache") };
}

const helloMain = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n';
const opaVersion = /github\.com\/open-policy-agent\/opa (v\S+)/.exec(readFileSync(join(repoRoot, "tools/opa/go.mod"), "utf8"))?.[1];

describe("scripts/install-tool.sh", () => {
  it("prints the cached OPA again at once, without building", () => {
    const opa = testToolPath("opa");
    expect(opa).toMatch(new RegExp(`/opa/${opaVersion}-[0-9a-f]{12}/opa$`));
    const again = installTool(installToolScript, "opa");
    expect(again).toMatchObject({ status: 0, stdout: `${opa}\n`, stderr: "" });
    expect(again.ms).toBeLessThan(2_000);
  });

  it("uses a cached tool when Go is not on PATH", () => {
    const opa = testToolPath("opa");
    expect(installTool(installToolScript, "opa", { PATH: pathWithoutGo() })).toMatchObject({ status: 0, stdout: `${opa}\n`, stderr: "" });
  });

  it("says how to get Go when a tool is not built and Go is not on PATH", () => {
    const cache = tempDir("agentmesh-empty-cache-");
    const result = installTool(installToolScript, "opa", { PATH: pathWithoutGo(), AGENTMESH_TOOLS_CACHE: cache });
    expect(result).toMatchObject({
      status: 3,
      stdout: "",
      stderr:
        `install-tool: opa ${opaVersion} is not built yet and 'go' is not on PATH: install Go >= 1.24 from https://go.dev/dl/ ` +
        "(tools/opa/go.mod asks for go 1.26.0, which Go fetches itself unless GOTOOLCHAIN=local), then run scripts/install-tool.sh opa again\n",
    });
    expect(readdirSync(cache)).toEqual([]);
  });

  it("builds into <cache>/<name>/<version>-<hash>/<name> once, then reuses it", () => {
    const { script, cache } = fakeRepo(helloMain);
    const first = installTool(script, "hello", { AGENTMESH_TOOLS_CACHE: cache });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^${cache}/hello/v0\\.0\\.0-[0-9a-f]{12}/hello\\n$`));
    expect(first.stderr).toContain("install-tool: building hello v0.0.0 (example.com/hello)");
    expect(spawnSync(first.stdout.trim(), { encoding: "utf8" }).stdout).toBe("hello\n");

    const second = installTool(script, "hello", { AGENTMESH_TOOLS_CACHE: cache });
    expect(second).toMatchObject({ status: 0, stdout: first.stdout, stderr: "" });
    expect(readdirSync(join(cache, "hello"))).toHaveLength(1);
  });

  it("leaves nothing that looks installed when the build fails", () => {
    const { script, cache } = fakeRepo("package main\n\nfunc main() { undefined() }\n");
    const result = installTool(script, "hello", { AGENTMESH_TOOLS_CACHE: cache });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /install-tool: building hello v0\.0\.0 failed \(see the go output above\); it needs Go >= 1\.24 from https:\/\/go\.dev\/dl\/ \(go 1\.24 per tools\/hello\/go\.mod\)\n$/,
    );
    expect(readdirSync(join(cache, "hello"))).toEqual([]);
  });

  it.each([
    [[], /^install-tool: usage: scripts\/install-tool\.sh <name> \(one of: [a-z -]*\bopa\b[a-z -]*\)\n$/],
    [["nope"], /^install-tool: no tool 'nope': expected tools\/nope\/go\.mod and tools\/nope\/go\.sum\n$/],
    [["../opa"], /^install-tool: bad tool name '\.\.\/opa' \(expected a directory name under tools\/\)\n$/],
  ])("refuses the arguments %j with exit 2", (args, stderr) => {
    const result = spawnSync("bash", [installToolScript, ...args], { encoding: "utf8" });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: "" });
    expect(result.stderr).toMatch(stderr);
  });
});
