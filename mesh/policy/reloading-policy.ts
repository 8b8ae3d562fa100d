/**
 * A policy engine that follows its bundle directory: when manifest.json changes
 * (the build writes it last) it loads the new bundle completely, then swaps it in
 * between two calls. A bundle that does not load leaves the running one in place,
 * so a bad build never takes a service's policy away.
 */
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import type { Logger } from "../logger.js";
import { bundleFiles, loadPolicyBundle } from "./policy-engine.js";
import type { PolicyEngine } from "./policy-engine.js";
import { thrownMessage } from "./policy-errors.js";

/** Options of `createReloadingPolicy`. */
export interface ReloadingPolicyOptions {
  readonly logger: Logger;
  /** Called after a new bundle is in place, with it and the one it replaced. */
  readonly onReload?: (current: PolicyEngine, previous: PolicyEngine) => void;
  /** Quiet time after the last change of manifest.json before reloading; default 200 ms. */
  readonly debounceMs?: number;
  /** Watch the directory; default true. False: reload only when `reload()` is called. */
  readonly watch?: boolean;
}

/** What a reload did. */
export type ReloadOutcome =
  | { readonly kind: "reloaded"; readonly revision: string; readonly previous: string }
  | { readonly kind: "failed"; readonly revision: string; readonly error: Error };

/** A `PolicyEngine` whose bundle can change while the service runs. */
export interface ReloadingPolicy extends PolicyEngine {
  /**
   * Loads the bundle again now. Reloads run one at a time; never rejects: a
   * failure is logged, reported as `failed`, and the running bundle stays.
   */
  reload(): Promise<ReloadOutcome>;
  /** Stops watching. */
  close(): void;
}

/**
 * Loads the bundle in `dir` (throws `PolicyBundleError` like `loadPolicyBundle`:
 * a service that cannot load its policy does not start) and watches it. Every
 * successful load is swapped in, also one with the running revision: the
 * manifest's digest covers the sources, not the compiler, so equal revisions do
 * not prove equal Wasm (the build leaves unchanged files alone, so an unchanged
 * build does not wake the watch).
 */
export async function createReloadingPolicy(dir: string, options: ReloadingPolicyOptions): Promise<ReloadingPolicy> {
  const o = { logger: options.logger, debounceMs: options.debounceMs ?? 200, watch: options.watch ?? true, onReload: options.onReload ?? (() => undefined) };
  let current = await loadPolicyBundle(dir);
  let queue: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  const loadNext = async (): Promise<ReloadOutcome> => {
    let next: PolicyEngine;
    try {
      next = await loadPolicyBundle(dir);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(thrownMessage(err));
      o.logger.error("policy reload failed; the running bundle stays", { revision: current.revision, error: error.message });
      return { kind: "failed", revision: current.revision, error };
    }
    const previous = current;
    current = next;
    o.logger.info("policy reloaded", { revision: next.revision, previous: previous.revision, digest: next.digest });
    o.onReload(next, previous);
    return { kind: "reloaded", revision: next.revision, previous: previous.revision };
  };
  const reload = (): Promise<ReloadOutcome> => {
    const run = queue.catch(() => undefined).then(loadNext);
    queue = run;
    return run;
  };

  if (o.watch) {
    // The directory, not the file: a build that replaces manifest.json by rename
    // gives it a new inode, which a watch on the old file would never see.
    watcher = watch(dir, (_event, filename) => {
      if (filename !== null && filename !== bundleFiles.manifest) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reload(), o.debounceMs);
      timer.unref();
    });
    watcher.on("error", (err) => o.logger.warn("stopped watching the policy bundle; reload explicitly", { dir, error: err.message }));
    watcher.unref();
  }

  return {
    get revision() {
      return current.revision;
    },
    get digest() {
      return current.digest;
    },
    evaluate: (input) => current.evaluate(input),
    reload,
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
