/**
 * The client side of the gateway's artifact endpoint: uploads bytes into a task's
 * scope and fetches them back through a signed link, checking digest and size.
 * The task context of a handler (`ctx.fetchArtifact`, `ctx.putArtifact`) and
 * `agentmesh artifacts put` use it.
 *
 * A caller that acts within a task it was given (an agent) sends, besides its own
 * bearer token, the gateway's hop token of that task in `agentmesh-chain`: the
 * proof that the task, and the tasks it was delegated from, are its to read and
 * write (the same proof a sub-delegation sends).
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ArtifactRefSchema } from "../../gen/agentmesh/v1/task_pb.js";
import type { ArtifactRef } from "../../gen/agentmesh/v1/task_pb.js";
import { chainHeader } from "../chain/delegation-chain.js";
import { meshError } from "../errors.js";
import { joinAddress, splitAddress } from "../server/serve.js";
import { artifactsPath } from "./artifact-link.js";

/** Options of `createArtifactClient`. */
export interface ArtifactClientOptions {
  /** Base URL of the gateway's artifact endpoint, e.g. `http://127.0.0.1:7072`: uploads go there, and so do fetches (with a link's path and query). */
  readonly baseUrl: string;
  /** The caller's own bearer token. */
  readonly token: () => Promise<string>;
  /** The gateway's hop token of the task the caller runs, if it runs one. */
  readonly proof?: string | undefined;
}

/** What to upload. */
export interface ArtifactUpload {
  /** The task the link is scoped to. */
  readonly taskId: string;
  /** Default `application/octet-stream`. */
  readonly mediaType?: string;
  /** A file name for people; kept on the reference. */
  readonly name?: string;
  readonly signal?: AbortSignal;
}

/** Uploads and fetches artifacts; see `createArtifactClient`. */
export interface ArtifactClient {
  /**
   * Uploads `data` and returns its reference: the signed link, digest, size,
   * media type and name. Throws a `ConnectError` with the endpoint's reason when
   * the upload is refused (UNAUTHENTICATED, PERMISSION_DENIED
   * `task_out_of_scope`, INVALID_ARGUMENT `artifact_too_large`, ...), UNAVAILABLE
   * when the endpoint cannot be reached.
   */
  put(data: Uint8Array | string | ReadableStream<Uint8Array>, upload: ArtifactUpload): Promise<ArtifactRef>;
  /**
   * Fetches the bytes of `ref` through its link and checks them against the
   * reference. Throws DATA_LOSS (`artifact_digest_mismatch`) when they are not
   * what the reference says, PERMISSION_DENIED (`link_invalid`, `link_expired`,
   * `link_out_of_scope`), NOT_FOUND (`artifact_not_found`), UNAVAILABLE when the
   * endpoint cannot be reached.
   */
  fetch(ref: Pick<ArtifactRef, "uri" | "digest" | "sizeBytes">, signal?: AbortSignal): Promise<Uint8Array>;
}

/** `sha256:<hex>` of `data`. */
export function artifactDigest(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * Where the gateway at `gatewayAddress` (its gRPC host:port) serves artifacts
 * by default: the same host, its gRPC port + 2 (7072 beside 7070 and 7071;
 * gateway/config.ts listens there unless AGENTMESH_ARTIFACTS_ADDRESS says otherwise).
 */
export function defaultArtifactsUrl(gatewayAddress: string): string {
  const { host, port } = splitAddress(gatewayAddress);
  return `http://${joinAddress(host, port + 2)}`;
}

/** Creates a client of the endpoint at `options.baseUrl`. */
export function createArtifactClient(options: ArtifactClientOptions): ArtifactClient {
  const headers = async (): Promise<Record<string, string>> => ({
    authorization: `Bearer ${await options.token()}`,
    ...(options.proof === undefined ? {} : { [chainHeader]: options.proof }),
  });
  return {
    async put(data, upload) {
      const url = new URL(`${options.baseUrl.replace(/\/+$/, "")}${artifactsPath}`);
      url.searchParams.set("task_id", upload.taskId);
      if (upload.name !== undefined) url.searchParams.set("name", upload.name);
      const res = await send(url, {
        method: "PUT",
        headers: { ...(await headers()), "content-type": upload.mediaType ?? "application/octet-stream" },
        body: data,
        // A stream body goes out as it is read (fetch wants this said).
        ...(data instanceof ReadableStream ? { duplex: "half" } : {}),
        ...(upload.signal === undefined ? {} : { signal: upload.signal }),
      });
      const ref = (await res.json()) as { uri: string; digest: string; sizeBytes: number; mediaType: string; name?: string };
      return create(ArtifactRefSchema, { uri: ref.uri, digest: ref.digest, sizeBytes: BigInt(ref.sizeBytes), mediaType: ref.mediaType, name: ref.name ?? "" });
    },
    async fetch(ref, signal) {
      const res = await send(linkAt(ref.uri, options.baseUrl), { headers: await headers(), ...(signal === undefined ? {} : { signal }) });
      const data = new Uint8Array(await res.arrayBuffer());
      const digest = artifactDigest(data);
      if (digest !== ref.digest || BigInt(data.byteLength) !== ref.sizeBytes) {
        throw meshError(Code.DataLoss, `the artifact's bytes (${data.byteLength} bytes, ${digest}) are not the referenced ${ref.sizeBytes} bytes with digest ${ref.digest}`, {
          reason: "artifact_digest_mismatch",
          metadata: { expected: ref.digest, actual: digest },
        });
      }
      return data;
    },
  };
}

/**
 * Where to fetch a link: its path and signed query at this caller's endpoint.
 * The host a link names is where its gateway was reached from when it was
 * signed, which need not be reachable from here (another pod, another network);
 * any gateway of the mesh serves it. Throws INVALID_ARGUMENT (`link_invalid`)
 * for a URI that is not a link.
 */
function linkAt(uri: string, baseUrl: string): URL {
  let link: URL;
  try {
    link = new URL(uri);
  } catch (err) {
    throw meshError(Code.InvalidArgument, `not an artifact link: ${uri}`, { reason: "link_invalid" }, err);
  }
  return new URL(`${baseUrl.replace(/\/+$/, "")}${link.pathname}${link.search}`);
}

/** HTTP status of a refusal, and the code it becomes. */
const statusCodes: Readonly<Record<number, Code>> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  // Too large is a property of the upload: retrying the same bytes cannot help.
  413: Code.InvalidArgument,
  // The store is full: nothing the caller can change, and not over until space is freed.
  507: Code.ResourceExhausted,
};

/** Sends a request; a refusal becomes a `ConnectError` with the endpoint's reason. */
async function send(url: URL, init: RequestInit & { duplex?: "half" }): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (init.signal?.aborted === true) throw meshError(Code.Canceled, "the artifact request was canceled", { reason: "canceled" }, err);
    throw meshError(Code.Unavailable, `the artifact endpoint ${url.origin} cannot be reached`, { reason: "artifact_endpoint_unavailable" }, err);
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as { error?: { reason?: string; message?: string } };
  const code = statusCodes[res.status] ?? Code.Unavailable;
  throw meshError(code, body.error?.message ?? `the artifact endpoint answered HTTP ${res.status}`, { reason: body.error?.reason ?? `http_${res.status}` });
}
