/**
 * The settings every mesh process reads from its environment. Each service's own
 * `config.ts` calls `readMeshConfig(process.env)` (and adds its own variables);
 * nothing else reads the environment.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_GRPC_ADDRESS | per service | host:port of the gRPC port (port 0: any free port) |
 * | AGENTMESH_CONNECT_ADDRESS | per service | host:port of the Connect / gRPC-Web port; "off" for none |
 * | AGENTMESH_ADVERTISE_HOST | 127.0.0.1 | host other services reach this one at |
 * | AGENTMESH_GATEWAY | 127.0.0.1:7070 | gRPC address of the gateway |
 * | AGENTMESH_HOME | ./.agentmesh | local state: development keys, task journals, outbox |
 * | AGENTMESH_AUTH_JWKS | $AGENTMESH_HOME/keys/jwks.json | public keys that verify tokens |
 * | AGENTMESH_AUTH_ROLE_KEYS | unset | JSON `{"gateway": ["<kid>"], "approver": ["<kid>"]}`: only these key ids may sign tokens of these roles (in production: the gateway's own key for `gateway`, the human identity issuer's for `approver`); unset: any trusted key signs any role, as with the one development key |
 * | AGENTMESH_AUTH_SIGNING_KEY | $AGENTMESH_HOME/keys/signing-key.jwk.json | private key this service signs its own token with |
 * | AGENTMESH_DATA_DIR | $AGENTMESH_HOME/data | where task journals live |
 * | AGENTMESH_INSTANCE_ID | hostname-pid | replica id in the registry |
 * | AGENTMESH_MAX_DEPTH | 4 | deepest delegation chain accepted |
 * | AGENTMESH_MAX_MESSAGE_BYTES | 4194304 | largest request message (RESOURCE_EXHAUSTED above) |
 * | AGENTMESH_MAX_INLINE_BYTES | 262144 | largest inline inputs (INVALID_ARGUMENT above: use an artifact) |
 * | AGENTMESH_SHUTDOWN_GRACE_MS | 10000 | how long in-flight calls may finish on SIGTERM |
 * | AGENTMESH_LOG_LEVEL | info | debug, info, warn or error |
 * | OTEL_* | see mesh/telemetry/telemetry-config.ts | OpenTelemetry: exporter (OTLP/gRPC to a collector, or the embedded span store `<dataDir>/<service>.spans.jsonl`), sampler, resource |
 * | AGENTMESH_QUEUE | embedded | where queued work, shared task results and artifacts live: unset or "embedded" for the embedded backend (no server; files under $AGENTMESH_HOME/queue, shared by every process on the machine), or `nats://host:4222` for NATS JetStream |
 * | AGENTMESH_QUEUE_MAX_IN_FLIGHT | 4 | most queued tasks one agent replica runs at once, per intent |
 * | AGENTMESH_QUEUE_ACK_WAIT_MS | 30000 | a queued task whose worker shows no sign of life for this long is delivered to another replica |
 * | AGENTMESH_QUEUE_MAX_DELIVERIES | 5 | attempts of a queued task before it goes to the dead-letter queue |
 * | AGENTMESH_QUEUE_BACKOFF_MS | 1000,5000,15000 | pause before each retry of a queued task that failed retryably (the last repeats) |
 * | AGENTMESH_QUEUE_TOKEN_TTL_S | 86400 | longest a queued task without a deadline may wait: its credentials expire then, and it goes to the dead-letter queue (re-drive it with `agentmesh tasks retry`) |
 * | AGENTMESH_QUEUE_REPLICAS | 1 | NATS only: replicas (1–5) of every JetStream stream, the KV bucket and the object store. Above 1 needs a JetStream cluster of at least that many servers (3 for a 3-server cluster: one server may fail). Opening raises the replicas, ages and byte limits of existing streams that are lower, and sets limits on streams that have none; it never lowers or removes them (docs/queue.md) |
 * | AGENTMESH_QUEUE_RETENTION_S | 604800 (7 days) | NATS only: a KV record (task record `result/<task id>`, which also dedups a repeated Delegate; saga state) and an attempts record is dropped this long after its last write, and then its task id can be used again: dedup of task ids holds within this window. 0 keeps them forever. At least AGENTMESH_QUEUE_TOKEN_TTL_S |
 * | AGENTMESH_QUEUE_DLQ_RETENTION_S | AGENTMESH_QUEUE_RETENTION_S | NATS only: a dead letter is dropped this long after it was dead-lettered; 0 keeps them forever. At most AGENTMESH_QUEUE_RETENTION_S (a dead letter whose task record is gone can be neither listed nor re-driven); 0 or at least 120 |
 * | AGENTMESH_ARTIFACT_TTL_S | 604800 (7 days) | NATS only: an artifact is dropped this long after its upload; 0 keeps them forever. At least AGENTMESH_ARTIFACT_LINK_TTL_S (default 3600, gateway/config.ts) and AGENTMESH_QUEUE_TOKEN_TTL_S, so a link or a queued task never outlives its artifact |
 * | AGENTMESH_QUEUE_KV_MAX_BYTES | unlimited | NATS only: most bytes the KV bucket holds; a write past it is refused (new tasks too). Unset or 0: no limit of its own (docs/queue.md: sizing) |
 * | AGENTMESH_QUEUE_DLQ_MAX_BYTES | unlimited | NATS only: most bytes of dead letters; past it the oldest are dropped. Unset or 0: no limit of its own |
 * | AGENTMESH_ARTIFACT_STORE_MAX_BYTES | unlimited | NATS only: most bytes the artifact store holds; an upload past it is refused, queued work goes on. Unset or 0: no limit of its own |
 * | AGENTMESH_ARTIFACTS_URL | http://<gateway host>:<gateway port + 2> (http://127.0.0.1:7072) | base URL of the gateway's artifact endpoint: where agents upload (`ctx.putArtifact`) and, on the gateway, the base of the links it signs (there the default is its own bound AGENTMESH_ARTIFACTS_ADDRESS) |
 * | AGENTMESH_POLICY_DIR | the repo's policy/build | the built policy bundle (policy.wasm, data.json, manifest.json) the service evaluates on every Delegate; it reloads it when manifest.json changes, keeps an audit log in the data dir and serves AuditService. Policy is always on: there is no off switch (a service that cannot load its bundle does not start). Point it at another bundle to run other rules |
 */
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LogLevel } from "./logger.js";
import { parseRoleKeys } from "./auth/tokens.js";
import type { RoleKeys } from "./auth/tokens.js";
import { readTelemetryConfig } from "./telemetry/telemetry-config.js";
import type { TelemetryConfig } from "./telemetry/telemetry-config.js";
import type { QueueSettings } from "./queue/queue-types.js";
import { parseQueueUrl } from "./queue/backend.js";
import { defaultQueueSettings } from "./queue/queue-settings.js";
import type { NatsStorageSettings } from "./queue/nats/nats-storage.js";

/** Where queued work lives and how it is delivered. */
export interface QueueConfig {
  /** AGENTMESH_QUEUE: undefined for the embedded backend, else a `nats://` URL. */
  readonly url: string | undefined;
  /** The embedded backend's directory: `<home>/queue`. */
  readonly dir: string;
  readonly maxInFlight: number;
  /** The queue's settings, and the NATS backend's storage: replicas and retention (the embedded backend ignores those). */
  readonly settings: Required<QueueSettings> & Required<NatsStorageSettings>;
  /** Longest lifetime of a queued task's credentials (a task without a deadline), in seconds. */
  readonly tokenTtlSeconds: number;
}

/** Fully populated mesh settings. */
export interface MeshConfig {
  readonly grpcAddress: string;
  readonly connectAddress: string | undefined;
  readonly advertiseHost: string;
  readonly gatewayAddress: string;
  readonly home: string;
  readonly jwksPath: string;
  readonly signingKeyPath: string;
  /** Roles only certain key ids may sign (AGENTMESH_AUTH_ROLE_KEYS); undefined: any trusted key signs any role. */
  readonly roleKeys: RoleKeys | undefined;
  /** True when both key paths are the development defaults (made on first use). */
  readonly devKeys: boolean;
  readonly dataDir: string;
  readonly instanceId: string;
  readonly maxDepth: number;
  readonly maxMessageBytes: number;
  readonly maxInlineBytes: number;
  readonly shutdownGraceMs: number;
  readonly logLevel: LogLevel;
  /** The policy bundle directory (AGENTMESH_POLICY_DIR; default `defaultPolicyDir`). */
  readonly policyDir: string;
  /** OpenTelemetry settings from the standard OTEL_* variables (mesh/telemetry/telemetry-config.ts). */
  readonly telemetry: TelemetryConfig;
  /** AGENTMESH_ARTIFACTS_URL; undefined: the default the reader derives (see the table). */
  readonly artifactsUrl: string | undefined;
  /** Queued work (AGENTMESH_QUEUE*). */
  readonly queue: QueueConfig;
}

/** Defaults a service passes for its own ports. */
export interface ServiceDefaults {
  readonly grpcAddress: string;
  readonly connectAddress: string | undefined;
}

/**
 * The bundle committed with the source (`npm run policy:build` writes it), found
 * relative to this file so it does not depend on the working directory.
 */
export const defaultPolicyDir = fileURLToPath(new URL("../policy/build", import.meta.url));

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the mesh settings; throws with the variable's name when a value is malformed. */
export function readMeshConfig(env: Env, defaults: ServiceDefaults): MeshConfig {
  const home = resolve(env.AGENTMESH_HOME ?? ".agentmesh");
  const keysDir = join(home, "keys");
  const connect = env.AGENTMESH_CONNECT_ADDRESS ?? defaults.connectAddress;
  const logLevel = env.AGENTMESH_LOG_LEVEL ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new Error(`AGENTMESH_LOG_LEVEL must be debug, info, warn or error, not "${logLevel}"`);
  }
  return {
    grpcAddress: env.AGENTMESH_GRPC_ADDRESS ?? defaults.grpcAddress,
    connectAddress: connect === "off" ? undefined : connect,
    advertiseHost: env.AGENTMESH_ADVERTISE_HOST ?? "127.0.0.1",
    gatewayAddress: env.AGENTMESH_GATEWAY ?? "127.0.0.1:7070",
    home,
    jwksPath: env.AGENTMESH_AUTH_JWKS ?? join(keysDir, "jwks.json"),
    signingKeyPath: env.AGENTMESH_AUTH_SIGNING_KEY ?? join(keysDir, "signing-key.jwk.json"),
    roleKeys: readRoleKeys(env.AGENTMESH_AUTH_ROLE_KEYS),
    devKeys: env.AGENTMESH_AUTH_JWKS === undefined && env.AGENTMESH_AUTH_SIGNING_KEY === undefined,
    dataDir: resolve(env.AGENTMESH_DATA_DIR ?? join(home, "data")),
    instanceId: env.AGENTMESH_INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    maxDepth: intVar(env, "AGENTMESH_MAX_DEPTH", 4),
    maxMessageBytes: intVar(env, "AGENTMESH_MAX_MESSAGE_BYTES", 4 * 1024 * 1024),
    maxInlineBytes: intVar(env, "AGENTMESH_MAX_INLINE_BYTES", 256 * 1024),
    shutdownGraceMs: intVar(env, "AGENTMESH_SHUTDOWN_GRACE_MS", 10_000),
    logLevel: logLevel as LogLevel,
    policyDir: env.AGENTMESH_POLICY_DIR === undefined || env.AGENTMESH_POLICY_DIR === "" ? defaultPolicyDir : resolve(env.AGENTMESH_POLICY_DIR),
    telemetry: readTelemetryConfig(env),
    artifactsUrl: env.AGENTMESH_ARTIFACTS_URL === undefined || env.AGENTMESH_ARTIFACTS_URL === "" ? undefined : env.AGENTMESH_ARTIFACTS_URL.replace(/\/+$/, ""),
    queue: readQueueConfig(env, home),
  };
}

function readQueueConfig(env: Env, home: string): QueueConfig {
  const url = parseQueueUrl(env.AGENTMESH_QUEUE);
  const backoff = (env.AGENTMESH_QUEUE_BACKOFF_MS ?? defaultQueueSettings.backoffMs.join(",")).split(",").map((part) => Number(part.trim()));
  if (backoff.length === 0 || backoff.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`AGENTMESH_QUEUE_BACKOFF_MS must be comma-separated non-negative integers, not "${env.AGENTMESH_QUEUE_BACKOFF_MS}"`);
  }
  const maxDeliveries = intVar(env, "AGENTMESH_QUEUE_MAX_DELIVERIES", defaultQueueSettings.maxDeliveries);
  if (maxDeliveries < 1) throw new Error("AGENTMESH_QUEUE_MAX_DELIVERIES must be at least 1");
  const maxInFlight = intVar(env, "AGENTMESH_QUEUE_MAX_IN_FLIGHT", 4);
  if (maxInFlight < 1) throw new Error("AGENTMESH_QUEUE_MAX_IN_FLIGHT must be at least 1");
  const tokenTtlSeconds = intVar(env, "AGENTMESH_QUEUE_TOKEN_TTL_S", 86_400);
  return {
    url,
    dir: join(home, "queue"),
    maxInFlight,
    settings: { ackWaitMs: intVar(env, "AGENTMESH_QUEUE_ACK_WAIT_MS", defaultQueueSettings.ackWaitMs), maxDeliveries, backoffMs: backoff, ...readQueueStorage(env, tokenTtlSeconds) },
    tokenTtlSeconds,
  };
}

/** The lifetime of a signed artifact link when the gateway's AGENTMESH_ARTIFACT_LINK_TTL_S is unset (gateway/config.ts). */
const defaultArtifactLinkTtlSeconds = 3600;

/** The NATS backend's replicas and retention (AGENTMESH_QUEUE_REPLICAS, the *_RETENTION_S, *_TTL_S and *_MAX_BYTES rows of the table). */
function readQueueStorage(env: Env, tokenTtlSeconds: number): Required<NatsStorageSettings> {
  const replicas = intVar(env, "AGENTMESH_QUEUE_REPLICAS", 1);
  if (replicas < 1 || replicas > 5) throw new Error(`AGENTMESH_QUEUE_REPLICAS must be from 1 to 5, not ${replicas}`);
  const retention = intVar(env, "AGENTMESH_QUEUE_RETENTION_S", 7 * 86_400);
  if (retention !== 0 && retention < tokenTtlSeconds) {
    throw new Error(`AGENTMESH_QUEUE_RETENTION_S (${retention}) must be 0 or at least AGENTMESH_QUEUE_TOKEN_TTL_S (${tokenTtlSeconds}): a queued task's record must outlive its wait`);
  }
  const deadLetterRetention = intVar(env, "AGENTMESH_QUEUE_DLQ_RETENTION_S", retention);
  if (deadLetterRetention !== 0 && deadLetterRetention < 120) throw new Error(`AGENTMESH_QUEUE_DLQ_RETENTION_S must be 0 or at least 120 (the dead-letter stream's duplicate window), not ${deadLetterRetention}`);
  if (retention !== 0 && (deadLetterRetention === 0 || deadLetterRetention > retention)) {
    throw new Error(`AGENTMESH_QUEUE_DLQ_RETENTION_S (${deadLetterRetention}) must be at most AGENTMESH_QUEUE_RETENTION_S (${retention}): a dead letter whose task record is gone can be neither listed nor re-driven`);
  }
  const artifactTtl = intVar(env, "AGENTMESH_ARTIFACT_TTL_S", 7 * 86_400);
  const linkTtl = intVar(env, "AGENTMESH_ARTIFACT_LINK_TTL_S", defaultArtifactLinkTtlSeconds);
  if (artifactTtl !== 0 && artifactTtl < Math.max(linkTtl, tokenTtlSeconds)) {
    throw new Error(`AGENTMESH_ARTIFACT_TTL_S (${artifactTtl}) must be 0 or at least AGENTMESH_ARTIFACT_LINK_TTL_S (${linkTtl}) and AGENTMESH_QUEUE_TOKEN_TTL_S (${tokenTtlSeconds}): a link or a queued task must not outlive its artifact`);
  }
  const maxBytes = (name: string) => intVar(env, name, 0) || -1;
  return {
    replicas,
    retentionMs: retention * 1000,
    deadLetterRetentionMs: deadLetterRetention * 1000,
    artifactTtlMs: artifactTtl * 1000,
    kvMaxBytes: maxBytes("AGENTMESH_QUEUE_KV_MAX_BYTES"),
    deadLetterMaxBytes: maxBytes("AGENTMESH_QUEUE_DLQ_MAX_BYTES"),
    artifactMaxBytes: maxBytes("AGENTMESH_ARTIFACT_STORE_MAX_BYTES"),
  };
}

function readRoleKeys(value: string | undefined): RoleKeys | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  try {
    return parseRoleKeys(value);
  } catch (err) {
    throw new Error(`AGENTMESH_AUTH_ROLE_KEYS: ${(err as Error).message}`);
  }
}

function intVar(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not "${raw}"`);
  return n;
}
