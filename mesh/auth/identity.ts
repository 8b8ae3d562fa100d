/**
 * Who is calling. An identity only ever comes from verified credentials (a signed
 * bearer token), never from a request body.
 */

/**
 * Roles, least privilege first: an auditor reads traces and decisions; a worker
 * executes within its scopes; a supervisor defines intents and assigns tasks; an
 * approver is a human who decides approvals; the gateway routes calls between
 * agents and may forward a delegation chain it did not start.
 */
export const roles = ["auditor", "worker", "supervisor", "approver", "gateway"] as const;

/** One of `roles`. */
export type Role = (typeof roles)[number];

/** An authenticated caller. */
export interface Identity {
  /** The token subject: an agent name or a person's user name. */
  readonly subject: string;
  readonly role: Role;
  /** Token expiry, epoch seconds. */
  readonly expiresAt: number;
  /**
   * Set when the gateway forwarded the call on this caller's behalf: the gateway's
   * own subject. Only a verified gateway identity may forward a caller.
   */
  readonly via?: string;
}

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (roles as readonly string[]).includes(value);
}
