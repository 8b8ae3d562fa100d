/**
 * Saga states in a `KvStore`, under `saga/<id>`, changed only by compare-and-set
 * on the key's revision: two coordinators (or a redelivered event) that read the
 * same revision cannot both write, and the loser reads again and re-decides.
 */
import type { KvStore } from "../queue/queue-types.js";
import { decodeSagaState, encodeSagaState, sagaKey } from "./saga-state.js";
import type { SagaState } from "./saga-state.js";

/** A state with the revision it was read at. */
export interface StoredSaga {
  readonly state: SagaState;
  readonly revision: number;
}

/** What a `mutate` decided. */
export interface SagaMutation<T> {
  /** The state to write; undefined writes nothing. */
  readonly state: SagaState | undefined;
  readonly result: T;
}

/** Saga states over one KvStore. */
export interface SagaStore {
  get(sagaId: string): Promise<StoredSaga | undefined>;
  /** Writes `state` only when the saga does not exist yet; the stored one (unchanged) when it does. */
  create(state: SagaState): Promise<{ created: boolean; saga: StoredSaga }>;
  /**
   * Reads the saga, lets `decide` choose the new state, and writes it with
   * compare-and-set; on a conflict it reads again and calls `decide` again (at
   * most `maxConflicts` times, default 20). Resolves to what the last `decide`
   * returned. Throws `SagaNotFoundError` when there is no such saga, and
   * `SagaWriteConflictError` (retryable) when the conflicts go on.
   */
  mutate<T>(sagaId: string, decide: (current: SagaState) => SagaMutation<T>): Promise<T>;
  /** Ids of every saga, sorted. */
  list(): Promise<string[]>;
}

/** No saga with that id. */
export class SagaNotFoundError extends Error {
  override readonly name = "SagaNotFoundError";
  readonly nonRetryable = true;
  constructor(readonly sagaId: string) {
    super(`no saga with id ${sagaId}`);
  }
}

/** The saga kept changing under a writer; trying again later can succeed. */
export class SagaWriteConflictError extends Error {
  override readonly name = "SagaWriteConflictError";
  readonly nonRetryable = false;
  constructor(readonly sagaId: string, attempts: number) {
    super(`saga ${sagaId} changed under ${attempts} writes in a row`);
  }
}

/** Creates the store over `kv`. */
export function createSagaStore(kv: KvStore, maxConflicts = 20): SagaStore {
  const get = async (sagaId: string): Promise<StoredSaga | undefined> => {
    const entry = await kv.get(sagaKey(sagaId));
    return entry === undefined ? undefined : { state: decodeSagaState(entry.value), revision: entry.revision };
  };
  return {
    get,
    async create(state) {
      for (;;) {
        const revision = await kv.create(sagaKey(state.sagaId), encodeSagaState(state));
        if (revision !== undefined) return { created: true, saga: { state, revision } };
        const existing = await get(state.sagaId);
        // Deleted between the two calls: try to create it again.
        if (existing !== undefined) return { created: false, saga: existing };
      }
    },
    async mutate(sagaId, decide) {
      for (let attempt = 1; attempt <= maxConflicts; attempt++) {
        const current = await get(sagaId);
        if (current === undefined) throw new SagaNotFoundError(sagaId);
        const { state, result } = decide(current.state);
        if (state === undefined) return result;
        if ((await kv.update(sagaKey(sagaId), encodeSagaState(state), current.revision)) !== undefined) return result;
      }
      throw new SagaWriteConflictError(sagaId, maxConflicts);
    },
    async list() {
      const prefix = sagaKey("");
      return (await kv.keys(prefix)).map((k) => k.slice(prefix.length));
    },
  };
}
