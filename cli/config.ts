/**
 * The `agentmesh` command's settings, read from its environment in this one
 * place; commands get them passed down. AGENTMESH_HOME and AGENTMESH_GATEWAY mean
 * what they mean to every mesh process (mesh/config.ts), and are read by it.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENTMESH_HOME | ./.agentmesh | local state: the development keys tokens are minted from; `up` runs the mesh on it |
 * | AGENTMESH_GATEWAY | 127.0.0.1:7070 | default of `--gateway` |
 * | AGENTMESH_ARTIFACTS_URL | http://<gateway host>:<gateway port + 2> | default of `agentmesh artifacts --artifacts`: the gateway's artifact endpoint |
 * | AGENTMESH_TOKEN | unset | bearer token for the command's calls (for `approvals`, one with role approver); unset or empty: one is minted from the development key |
 * | AGENTMESH_JAEGER_URL | unset | default of `agentmesh trace --jaeger`: read traces from this Jaeger query API (e.g. http://127.0.0.1:16686) instead of the local span stores |
 * | USER | approver | the person at the keyboard: subject of the approver token `agentmesh approvals` mints. Delegations are minted for `operator` (cli/cli-identity.ts), so this person may approve what they delegated through the CLI; a USER of `operator` may not (`self_approval`) |
 */
import { defaultArtifactsUrl, readMeshConfig, splitAddress } from "../mesh/index.js";

/** Fully populated settings of the command. */
export interface CliConfig {
  /** Absolute path of the local state folder. */
  readonly home: string;
  /** host:port of the gateway's gRPC port. */
  readonly gatewayAddress: string;
  /** Token to call with; undefined: mint one from the development key in `home`. */
  readonly token: string | undefined;
  /** The person at the keyboard: subject of a minted approver token. */
  readonly user: string;
  /** Base URL of the gateway's artifact endpoint. */
  readonly artifactsUrl: string;
  /** Jaeger query API that `agentmesh trace` reads from; undefined: the local span stores. */
  readonly jaegerUrl: string | undefined;
}

/** Reads the settings from `env`; throws naming the variable when a value is malformed. */
export function readCliConfig(env: Readonly<Record<string, string | undefined>>): CliConfig {
  // The CLI serves nothing: the service addresses are placeholders.
  const mesh = readMeshConfig(env, { grpcAddress: "127.0.0.1:0", connectAddress: undefined });
  try {
    splitAddress(mesh.gatewayAddress);
  } catch {
    throw new Error(`AGENTMESH_GATEWAY must be host:port, not "${mesh.gatewayAddress}"`);
  }
  const token = env.AGENTMESH_TOKEN;
  const user = env.USER;
  const jaegerUrl = env.AGENTMESH_JAEGER_URL?.trim();
  if (jaegerUrl !== undefined && jaegerUrl !== "" && !/^https?:\/\/[^/\s]+/.test(jaegerUrl)) {
    throw new Error(`AGENTMESH_JAEGER_URL must be an http(s) URL, not "${jaegerUrl}"`);
  }
  return {
    home: mesh.home,
    gatewayAddress: mesh.gatewayAddress,
    artifactsUrl: mesh.artifactsUrl ?? defaultArtifactsUrl(mesh.gatewayAddress),
    token: token === undefined || token === "" ? undefined : token,
    user: user === undefined || user === "" ? "approver" : user,
    jaegerUrl: jaegerUrl === undefined || jaegerUrl === "" ? undefined : jaegerUrl,
  };
}
