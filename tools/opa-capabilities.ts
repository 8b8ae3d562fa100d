import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { runTool } from "./policy-bundle.js";

/** The parts of an OPA capabilities document this project uses. */
export interface OpaCapabilities {
  builtins: { name: string }[];
  future_keywords?: string[];
  features?: string[];
  wasm_abi_versions?: { version: number; minor_version: number }[];
}

/** Inputs of {@link createOpaCapabilities}. */
export interface OpaCapabilitiesOptions {
  /** The pinned `opa` binary (its `capabilities --current` is the starting point). */
  opa: string;
  /** OPA's module source at the same version (its builtin_metadata.json says which builtins compile to native Wasm). */
  opaModuleDir: string;
  /** The installed `@open-policy-agent/opa-wasm` package directory. */
  sdkDir: string;
}

/** What {@link createOpaCapabilities} found, for the report. */
export interface OpaCapabilitiesReport {
  capabilities: OpaCapabilities;
  /** Builtins compiled into the Wasm by OPA itself. */
  wasmNative: string[];
  /** Builtins the SDK implements in JavaScript (the Wasm imports them). */
  sdkBuiltins: string[];
  /** Builtins OPA knows that the Wasm build may not use. */
  dropped: string[];
  /** Builtins in the SDK's own capabilities.json that neither OPA's Wasm nor the SDK implements. */
  sdkListedButMissing: string[];
}

/**
 * The capabilities a policy must keep to so that `@open-policy-agent/opa-wasm`
 * can run its Wasm build: OPA's current capabilities (builtins, keywords,
 * features such as `rego_v1`), with the builtins cut down to those OPA compiles
 * natively into the Wasm module (`"wasm": true` in its builtin_metadata.json)
 * plus those the SDK implements in JavaScript (its `src/builtins`), and the Wasm
 * ABI versions the SDK declares. Any other builtin would compile into an import
 * the SDK answers with "not implemented" at evaluation time.
 *
 * The SDK ships a capabilities.json of its own, but it cannot be used as is: it
 * lacks OPA 1.x's `features` (OPA then refuses Rego v1 syntax), omits builtins
 * that newer OPA compiles natively (object.keys, strings.reverse, ...), and lists
 * some that nothing implements (rand.intn, time.diff).
 */
export async function createOpaCapabilities(options: OpaCapabilitiesOptions): Promise<OpaCapabilitiesReport> {
  const { stdout } = await runTool(options.opa, ["capabilities", "--current"], "opa capabilities");
  const current = JSON.parse(stdout) as OpaCapabilities;
  const metadata = JSON.parse(await readFile(join(options.opaModuleDir, "builtin_metadata.json"), "utf8")) as Record<string, { wasm?: boolean }>;
  const wasmNative = Object.keys(metadata).filter((name) => metadata[name]?.wasm === true);
  const requireFromSdk = createRequire(join(options.sdkDir, "package.json"));
  const sdkBuiltins = Object.keys(requireFromSdk("./src/builtins/index.js") as Record<string, unknown>);
  const sdkCapabilities = JSON.parse(await readFile(join(options.sdkDir, "capabilities.json"), "utf8")) as OpaCapabilities;

  const supported = new Set([...wasmNative, ...sdkBuiltins]);
  const builtins = current.builtins.filter((b) => supported.has(b.name));
  const capabilities: OpaCapabilities = { ...current, builtins, wasm_abi_versions: sdkCapabilities.wasm_abi_versions ?? [] };
  return {
    capabilities,
    wasmNative: wasmNative.sort(),
    sdkBuiltins: sdkBuiltins.sort(),
    dropped: current.builtins.map((b) => b.name).filter((name) => !supported.has(name)),
    sdkListedButMissing: sdkCapabilities.builtins.map((b) => b.name).filter((name) => !supported.has(name)),
  };
}
