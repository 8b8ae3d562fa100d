/**
 * scripts/deploy.ts (npm run -s deploy -- ...) as a command: its output piped
 * into a reader that stops early, and the modes of the key files it writes
 * whatever the umask.
 */
import { execFile, spawn } from "node:child_process";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileMode, meshProcesses, writeDeployKeys } from "../../deploy/deploy-keys.js";
import { repoRoot } from "../../tools/tool-path.js";
import { testToolPath } from "../../tools/test-tools.js";

const script = join(repoRoot, "scripts", "deploy.ts");

/** Every file `writeDeployKeys` writes, relative to its directory. */
const keyFiles = ["jwks.json", "role-keys.json", "compose.env", "cli/keys/jwks.json", "cli/keys/signing-key.jwk.json", ...meshProcesses.map((p) => `${p}/signing-key.jwk.json`)];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "agentmesh-deploy-script-"));
  // The script builds kustomize on first use; the tests' copy is already built.
  testToolPath("kustomize");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("scripts/deploy.ts", () => {
  it("render: a reader that closes the pipe early (| head) ends it quietly with status 0, not EPIPE", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", script, "render", "prod"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Like head: read the first chunk, then close the pipe.
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);

  it(`keys: every file is mode ${fileMode.toString(8)} and every directory 700, under a umask of 077 and over files of another mode`, async () => {
    const keys = join(dir, "keys");
    await promisify(execFile)("sh", ["-c", `umask 077 && exec "${process.execPath}" --import tsx "${script}" keys "${keys}"`], { cwd: repoRoot });
    for (const f of keyFiles) expect((await modeOf(join(keys, f))).toString(8), f).toBe(fileMode.toString(8));
    // A rotation writes over the existing files: their mode is set again.
    for (const f of keyFiles) await chmod(join(keys, f), 0o600);
    await writeFile(join(keys, "compose.env"), "");
    await writeDeployKeys(keys);
    for (const f of keyFiles) expect((await modeOf(join(keys, f))).toString(8), f).toBe(fileMode.toString(8));
    for (const d of ["", "gateway", "cli", "cli/keys"]) expect((await modeOf(join(keys, d))).toString(8), d).toBe("700");
  }, 60_000);
});
