/**
 * The gateway's artifact endpoint: plain HTTP on its own address
 * (AGENTMESH_ARTIFACTS_ADDRESS), so large bytes never travel inside an RPC.
 *
 *   PUT|POST /v1/artifacts?task_id=<T>[&name=<file name>]
 *     bearer token (+ `agentmesh-chain` for an agent), body = the bytes, Content-Type
 *     = their media type. Streams the body into the artifact store, refusing more
 *     than the cap (413). Answers 201 with the reference, ready for `ArtifactRef`:
 *     `{"uri": <signed link>, "digest", "sizeBytes", "mediaType", "name"?}`.
 *   GET|HEAD <link>   (/v1/artifacts/<id>?link=<JWS>)
 *     bearer token (+ `agentmesh-chain`). Answers the bytes with Content-Type,
 *     Content-Length, `Repr-Digest: sha-256=:<base64>:` (RFC 9530) and an ETag of
 *     the digest.
 *
 * Every refusal is JSON `{"error": {"reason", "message"}}`: 400 (`task_id_invalid`,
 * `media_type_invalid`, `link_missing`), 401 (`token_*`, `chain_invalid`), 403
 * (`link_invalid`, `link_expired`, `link_out_of_scope`, `task_out_of_scope`), 404
 * (`artifact_not_found`), 413 (`artifact_too_large`), 429 (`too_many_uploads`,
 * `too_many_reads`: retry later), 507 (`artifact_store_full`), 500 (`internal`,
 * details in the log only).
 *
 * Limits: uploads in progress at once, overall and per caller; fetches answered at
 * once (the store hands each artifact over whole, so each holds its bytes in
 * memory: at most `maxReads` times the upload cap); and Node's request and header
 * timeouts, so a slow client cannot hold a connection open.
 */
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConnectError, Code } from "@connectrpc/connect";
import {
  ArtifactLinkError, artifactLinkUri, artifactsPath, errorDetailOf, idPattern, signArtifactLink, joinAddress, splitAddress,
} from "../mesh/index.js";
import type { ArtifactAccess, ArtifactLinkVerifier, Logger, SigningKey } from "../mesh/index.js";
import { ArtifactTooLargeError } from "../mesh/queue/queue-errors.js";
import { QueueStoreFullError } from "../mesh/queue/nats/nats-storage.js";
import type { ArtifactStore } from "../mesh/queue/queue-types.js";

/** Options of `startArtifactHttp`. */
export interface ArtifactHttpOptions {
  /** host:port to listen on (port 0: any free port). */
  readonly address: string;
  /** Base URL the links name; default `http://<host>:<bound port>`, with `advertiseHost` for an unspecified host (0.0.0.0, ::). */
  readonly publicUrl: string | undefined;
  /** The host other services reach this one at (AGENTMESH_ADVERTISE_HOST). */
  readonly advertiseHost: string;
  readonly store: ArtifactStore;
  /** The gateway's signing key: it signs the links. */
  readonly signingKey: SigningKey;
  readonly links: ArtifactLinkVerifier;
  readonly access: ArtifactAccess;
  /** Largest upload in bytes. */
  readonly maxBytes: number;
  /** Lifetime of a link. */
  readonly linkTtlSeconds: number;
  /** Uploads in progress at once on this endpoint (429 above); default 32. */
  readonly maxUploads?: number;
  /** Uploads in progress at once per caller (429 above); default 4. */
  readonly maxUploadsPerCaller?: number;
  /** Fetches being answered at once (429 above); default 8. */
  readonly maxReads?: number;
  /** Node's `server.requestTimeout` (whole request, body included); default 120 s. */
  readonly requestTimeoutMs?: number;
  /** Node's `server.headersTimeout`; default 15 s. */
  readonly headersTimeoutMs?: number;
  readonly logger: Logger;
}

/** A running artifact endpoint. */
export interface RunningArtifactHttp {
  readonly port: number;
  /** The base URL its links name. */
  readonly url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** A refusal the endpoint answers with `status` and `{"error": {reason, message}}`; the same request is refused again. */
class HttpRefusal extends Error {
  override readonly name = "HttpRefusal";
  readonly nonRetryable = true;

  constructor(readonly status: number, readonly reason: string, message: string) {
    super(message);
  }
}

/** HTTP status of each code a verification or rule throws. */
const codeStatus: Partial<Record<Code, number>> = {
  [Code.Unauthenticated]: 401, [Code.PermissionDenied]: 403, [Code.InvalidArgument]: 400, [Code.NotFound]: 404,
};

/** Starts the endpoint; rejects when the address cannot be bound. */
export async function startArtifactHttp(o: ArtifactHttpOptions): Promise<RunningArtifactHttp> {
  const { host, port } = splitAddress(o.address);
  let baseUrl = o.publicUrl ?? "";
  const requestTimeout = o.requestTimeoutMs ?? 120_000;
  const headersTimeout = o.headersTimeoutMs ?? 15_000;
  // Node checks both timeouts every connectionsCheckingInterval (30 s by default): check often enough for them to hold.
  const server = createServer({ requestTimeout, headersTimeout, connectionsCheckingInterval: Math.min(1000, headersTimeout) }, (req, res) => {
    handle(req, res).catch((err: unknown) => answerError(res, err, o.logger));
  });
  const uploads = new Map<string, number>();
  let uploading = 0;
  let reading = 0;
  const maxUploads = o.maxUploads ?? 32;
  const maxUploadsPerCaller = o.maxUploadsPerCaller ?? 4;
  const maxReads = o.maxReads ?? 8;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://artifacts.invalid");
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (url.pathname === artifactsPath && (req.method === "PUT" || req.method === "POST")) {
      await upload(req, res, url, header);
    } else if (url.pathname.startsWith(`${artifactsPath}/`) && (req.method === "GET" || req.method === "HEAD")) {
      await download(req, res, header);
    } else {
      throw new HttpRefusal(404, "not_found", `no such endpoint: ${req.method ?? ""} ${url.pathname} (PUT ${artifactsPath}?task_id=<task>, GET <link>)`);
    }
  }

  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, header: (n: string) => string | undefined): Promise<void> {
    const caller = await o.access.authenticate(header);
    const taskId = url.searchParams.get("task_id") ?? "";
    if (!idPattern.test(taskId)) throw new HttpRefusal(400, "task_id_invalid", "task_id must be 1 to 128 characters of [A-Za-z0-9._:-]: the task the link is scoped to");
    await o.access.assertMayUpload(caller, taskId);
    const mediaType = header("content-type") ?? "application/octet-stream";
    if (!/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(mediaType) || mediaType.length > 200) throw new HttpRefusal(400, "media_type_invalid", `Content-Type "${mediaType}" is not a media type`);
    const name = url.searchParams.get("name") ?? undefined;
    const declared = Number(header("content-length") ?? NaN);
    if (declared > o.maxBytes) throw tooLarge(o.maxBytes);
    const subject = caller.identity.subject;
    const mine = uploads.get(subject) ?? 0;
    if (mine >= maxUploadsPerCaller) throw new HttpRefusal(429, "too_many_uploads", `${subject} has ${mine} uploads in progress, the most one caller may have (AGENTMESH_ARTIFACT_MAX_UPLOADS_PER_CALLER): retry when one ends`);
    if (uploading >= maxUploads) throw new HttpRefusal(429, "too_many_uploads", `the gateway has ${uploading} uploads in progress, the most it takes (AGENTMESH_ARTIFACT_MAX_UPLOADS): retry later`);
    uploads.set(subject, mine + 1);
    uploading++;
    const info = await o.store.put(req, { mediaType, maxBytes: o.maxBytes }).catch((err: unknown) => {
      if (err instanceof ArtifactTooLargeError) throw tooLarge(o.maxBytes);
      if (err instanceof QueueStoreFullError) throw new HttpRefusal(507, "artifact_store_full", err.message);
      throw err;
    }).finally(() => {
      uploading--;
      const left = (uploads.get(subject) ?? 1) - 1;
      if (left === 0) uploads.delete(subject);
      else uploads.set(subject, left);
    });
    const expiresAt = Math.floor(Date.now() / 1000) + o.linkTtlSeconds;
    const jws = await signArtifactLink(o.signingKey, { artifactId: info.id, digest: info.digest, size: info.size, mediaType, taskId, uploader: caller.identity.subject, expiresAt });
    o.logger.info("artifact stored", { artifact_id: info.id, task_id: taskId, size: info.size, by: caller.identity.subject });
    sendJson(res, 201, { uri: artifactLinkUri(baseUrl, info.id, jws), digest: info.digest, sizeBytes: info.size, mediaType, ...(name === undefined ? {} : { name }) });
  }

  async function download(req: IncomingMessage, res: ServerResponse, header: (n: string) => string | undefined): Promise<void> {
    const caller = await o.access.authenticate(header);
    const link = o.links.verifyUri(req.url ?? "");
    await o.access.assertMayFetch(caller, link);
    if (reading >= maxReads) throw new HttpRefusal(429, "too_many_reads", `the gateway is answering ${reading} fetches, the most it serves at once (AGENTMESH_ARTIFACT_MAX_READS): retry shortly`);
    // Counted until the response is done: the bytes are held until then.
    reading++;
    res.once("close", () => reading--);
    const found = await o.store.get(link.artifactId);
    // A stored artifact is immutable: other bytes under the id are not the linked ones.
    if (found === undefined || found.info.digest !== link.digest) throw new HttpRefusal(404, "artifact_not_found", `artifact ${link.artifactId} is no longer stored`);
    res.writeHead(200, {
      "content-type": link.mediaType,
      "content-length": found.data.byteLength,
      "repr-digest": `sha-256=:${Buffer.from(link.digest.slice("sha256:".length), "hex").toString("base64")}:`,
      etag: `"${link.digest}"`,
      "cache-control": "private, no-store",
      // The media type is the uploader's word: never let a browser sniff or run the content.
      "x-content-type-options": "nosniff",
      "content-security-policy": "sandbox",
    });
    res.end(req.method === "HEAD" ? undefined : found.data);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  if (baseUrl === "") {
    const named = host === "0.0.0.0" || host === "::" || host === "" ? o.advertiseHost : host;
    baseUrl = `http://${joinAddress(named, bound)}`;
  }
  return {
    port: bound,
    url: baseUrl,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function tooLarge(maxBytes: number): HttpRefusal {
  return new HttpRefusal(413, "artifact_too_large", `the artifact is larger than ${maxBytes} bytes (AGENTMESH_MAX_ARTIFACT_BYTES): split it or raise the limit`);
}

/** Answers a refusal, or 500 for anything unexpected (logged, never sent). */
function answerError(res: ServerResponse, err: unknown, logger: Logger): void {
  let refusal: HttpRefusal;
  if (err instanceof HttpRefusal) refusal = err;
  else if (err instanceof ArtifactLinkError) refusal = new HttpRefusal(err.reason === "link_missing" ? 400 : 403, err.reason, err.message);
  else if (err instanceof ConnectError && codeStatus[err.code] !== undefined) refusal = new HttpRefusal(codeStatus[err.code]!, errorDetailOf(err)?.reason ?? "refused", err.rawMessage);
  else {
    logger.error("artifact request failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    refusal = new HttpRefusal(500, "internal", "internal error");
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // An upload refused before its body was read: the rest of the body is not wanted.
  sendJson(res, refusal.status, { error: { reason: refusal.reason, message: refusal.message } }, [413, 429, 507].includes(refusal.status));
}

function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...(close ? { connection: "close" } : {}) });
  res.end(text);
}
