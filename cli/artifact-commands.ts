/**
 * `agentmesh artifacts`: large inputs and outputs by signed link, through the
 * gateway's artifact endpoint (gateway/artifact-http.ts), as the operator
 * (cli/cli-identity.ts): AGENTMESH_TOKEN when set, else a token minted from the
 * development key.
 *
 *   agentmesh artifacts put FILE --task ID [--media-type TYPE] [--name NAME]
 *     uploads FILE into task ID's scope (a task the operator is about to delegate,
 *     or one it delegated) and prints the reference as proto JSON, ready for a
 *     DelegateRequest's `artifacts` (e.g. with grpcurl or buf curl)
 *   agentmesh artifacts get URI [--out FILE]
 *     fetches an artifact through its link (the `uri` of a reference) and writes
 *     it to FILE or standard output, checked against the link's digest and size
 */
import { createReadStream } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { Readable } from "node:stream";
import { Option } from "commander";
import type { Command } from "commander";
import { toJsonString } from "@bufbuild/protobuf";
import { ArtifactRefSchema } from "../gen/agentmesh/v1/task_pb.js";
import { createArtifactClient } from "../mesh/index.js";
import { cliToken } from "./cli-identity.js";
import { printError } from "./cli-output.js";
import type { CliConfig } from "./config.js";

/** Media types `put` assumes from a file's extension when `--media-type` is not given. */
const mediaTypes: Readonly<Record<string, string>> = {
  ".json": "application/json", ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".html": "text/html", ".pdf": "application/pdf",
};

/** Adds `artifacts put|get` to `program`. */
export function registerArtifactCommands(program: Command, config: CliConfig): void {
  const artifacts = program.command("artifacts").description("large task inputs and outputs, by signed link through the gateway's artifact endpoint");
  const endpointOption = () => new Option("--artifacts <url>", "base URL of the gateway's artifact endpoint (AGENTMESH_ARTIFACTS_URL)").default(config.artifactsUrl);
  const client = (baseUrl: string) => createArtifactClient({ baseUrl, token: () => cliToken(config.home, { token: config.token }) });

  artifacts
    .command("put")
    .description("upload a file into a task's scope and print its reference (proto JSON ArtifactRef)")
    .argument("<file>")
    .requiredOption("--task <id>", "the task the link is scoped to: one you are about to delegate, or one you delegated")
    .option("--media-type <type>", "the content's media type (default: from the file's extension, else application/octet-stream)")
    .option("--name <name>", "a name for people, kept on the reference (default: the file's name)")
    .addOption(endpointOption())
    .action((file: string, o: { task: string; mediaType?: string; name?: string; artifacts: string }) =>
      report(async () => {
        await stat(file);
        const ref = await client(o.artifacts).put(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>, {
          taskId: o.task,
          mediaType: o.mediaType ?? mediaTypes[extname(file).toLowerCase()] ?? "application/octet-stream",
          name: o.name ?? basename(file),
        });
        process.stdout.write(toJsonString(ArtifactRefSchema, ref, { prettySpaces: 2 }) + "\n");
      }),
    );

  artifacts
    .command("get")
    .description("fetch an artifact through its link and check it against the link's digest and size")
    .argument("<uri>", "the uri of the artifact's reference")
    .option("--out <file>", "write the bytes here (default: standard output)")
    .addOption(endpointOption())
    .action((uri: string, o: { out?: string; artifacts: string }) =>
      report(async () => {
        const data = await client(o.artifacts).fetch({ uri, ...linkedDigest(uri) });
        if (o.out === undefined) process.stdout.write(data);
        else await writeFile(o.out, data);
      }),
    );
}

/** The digest and size a link says its bytes have (the gateway checked its signature before serving it). */
function linkedDigest(uri: string): { digest: string; sizeBytes: bigint } {
  const payload = new URL(uri).searchParams.get("link")?.split(".")[1];
  const claims = payload === undefined ? {} : (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { dig?: unknown; size?: unknown });
  if (typeof claims.dig !== "string" || typeof claims.size !== "number") throw new Error("not an artifact link: pass the uri of an artifact reference as it is");
  return { digest: claims.dig, sizeBytes: BigInt(claims.size) };
}

/** Runs a command body; a failure is printed and sets the exit code to 1. */
async function report(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    printError(err);
    process.exitCode = 1;
  }
}
