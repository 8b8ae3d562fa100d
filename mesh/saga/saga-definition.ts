/**
 * How a saga is declared: ordered steps, each a delegation (an intent and inputs
 * built from the saga's input and the outputs of the steps before it) with a
 * compensating delegation that undoes it. Builders must be pure: a step redone
 * after a restart must send the same inputs, so the mesh's idempotency (task id +
 * request fingerprint) absorbs the redo.
 */

/** JSON object inputs and outputs, as they travel in a `DelegateRequest` and a `Result`. */
export type JsonObject = Record<string, unknown>;

/** What a step's inputs are built from. */
export interface StepInputContext {
  /** The saga's input, as it was started. */
  readonly input: JsonObject;
  /** Outputs of the steps completed so far, by step name. */
  readonly outputs: Readonly<Record<string, JsonObject>>;
}

/** What a compensation's inputs are built from: also the outputs of the step it undoes. */
export interface CompensationInputContext extends StepInputContext {
  /** The step's outputs; `{}` when its outcome is unknown (it failed uncertain, see `taskId`). */
  readonly output: JsonObject;
  /** The task id of the step's delegation, from which an agent that keys its effects by task id names them. */
  readonly taskId: string;
}

/** One step of a saga. */
export interface SagaStepDefinition {
  /** Unique within the saga: `[a-z][a-z0-9-]*`; part of the step's task ids. */
  readonly name: string;
  readonly intent: string;
  readonly inputs: (ctx: StepInputContext) => JsonObject;
  /** The delegation that undoes the step once it completed. */
  readonly compensation: {
    readonly intent: string;
    readonly inputs: (ctx: CompensationInputContext) => JsonObject;
  };
}

/** A saga: its name, the JSON Schema of its input and its ordered steps. */
export interface SagaDefinition {
  /** `[a-z][a-z0-9-]*`, e.g. "campaign-launch". */
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonObject;
  readonly steps: readonly SagaStepDefinition[];
}

const namePattern = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Checks `definition` and returns it. Throws a TypeError when its name or a step
 * name is not `[a-z][a-z0-9-]*` (at most 63 characters), when two steps share a
 * name, or when it has no steps.
 */
export function defineSaga(definition: SagaDefinition): SagaDefinition {
  if (!namePattern.test(definition.name)) throw new TypeError(`saga name ${JSON.stringify(definition.name)} must match ${namePattern.source}`);
  if (definition.steps.length === 0) throw new TypeError(`saga ${definition.name} has no steps`);
  const seen = new Set<string>();
  for (const step of definition.steps) {
    if (!namePattern.test(step.name)) throw new TypeError(`saga ${definition.name}: step name ${JSON.stringify(step.name)} must match ${namePattern.source}`);
    if (seen.has(step.name)) throw new TypeError(`saga ${definition.name}: two steps are named ${step.name}`);
    seen.add(step.name);
  }
  return definition;
}

/** Saga ids: what a caller may choose (they become part of task ids and KV keys). */
export const sagaIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
