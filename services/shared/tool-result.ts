// The value every worker's work returns. The mesh handler wraps it into an
// agentmesh.v1.Result (outputs → Struct, evidence → Evidence), so the field names
// follow proto/agentmesh/v1/task.proto. Tool calls are not reported here: the work
// runs its tools through a `ToolRunner` (the task context's `tool`), and the mesh
// counts them into the Result's Cost.

/** One piece of evidence supporting a result: what was looked at, measured or produced. */
export interface WorkEvidence {
  /** What kind of evidence, e.g. "source_sentence", "rule_match", "file". */
  kind: string;
  /** Human-readable description. */
  description: string;
  /** Where it can be found, when it has a location. */
  uri?: string;
  /** A short excerpt of the evidence itself. */
  excerpt?: string;
}

/** What one intent's work produced, before the mesh wraps it into a Result. */
export interface WorkOutcome<O> {
  /** Must validate against the intent's output JSON Schema. */
  outputs: O;
  /** Human-readable account of how outputs were reached. */
  rationale: string;
  /** What the outputs rest on, in the order the work met it. */
  evidence: WorkEvidence[];
  /** 0..1, computed from the work itself; each producer documents its formula. */
  confidence: number;
}
