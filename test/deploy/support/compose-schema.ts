/**
 * The Compose specification's JSON Schema, offline: compose-go (the library
 * docker compose itself loads files with) ships it as schema/compose-spec.json.
 * It comes from the Go module cache (outside the checkout; `go mod download`
 * fetches the pinned version once through the module proxy and checks it
 * against the Go checksum database), so the repository keeps no copy.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** The compose-go release whose schema docker-compose.yml is checked against. */
export const composeGoModule = "github.com/compose-spec/compose-go/v2@v2.16.2";

/** Reads the pinned Compose schema; throws saying what is missing when Go or the module cannot be had. */
export async function composeSpecSchema(): Promise<Record<string, unknown>> {
  let dir: string;
  try {
    const { stdout } = await promisify(execFile)("go", ["mod", "download", "-json", composeGoModule], {
      cwd: tmpdir(),
      env: { ...process.env, GOWORK: "off", GOFLAGS: "-mod=mod" },
      maxBuffer: 4 * 1024 * 1024,
    });
    dir = (JSON.parse(stdout) as { Dir: string }).Dir;
  } catch (err) {
    throw new Error(`cannot get the Compose schema (go mod download ${composeGoModule}): ${(err as Error).message}; it needs Go >= 1.24 from https://go.dev/dl/ and the Go module proxy once`, { cause: err });
  }
  return JSON.parse(await readFile(join(dir, "schema", "compose-spec.json"), "utf8")) as Record<string, unknown>;
}
