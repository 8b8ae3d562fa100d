import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { cliAuth, cliToken } from "./cli-identity.js";

const homes: string[] = [];
const newHome = () => {
  const home = mkdtempSync(join(tmpdir(), "agentmesh-cli-"));
  homes.push(home);
  return home;
};
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

describe("cliToken", () => {
  it("returns the configured token as it is, without touching the home", async () => {
    expect(await cliToken("/nonexistent/agentmesh", { token: "abc.def.ghi" })).toBe("abc.def.ghi");
  });

  it("mints an hour's supervisor token for the configured subject from the development key", async () => {
    const claims = decodeJwt(await cliToken(newHome(), { subject: "carol" }));
    expect([claims.sub, claims.role, claims.exp! - claims.iat!]).toEqual(["carol", "supervisor", 3600]);
  });

  it("mints for the subject operator when given no subject (it reads no environment)", async () => {
    const claims = decodeJwt(await cliToken(newHome()));
    expect([claims.sub, claims.role]).toEqual(["operator", "supervisor"]);
  });
});

describe("cliAuth", () => {
  const claimsOf = (md: Record<string, string>) => decodeJwt(md.authorization!.replace(/^Bearer /, ""));

  it.each<["operator" | "approver", [string, string]]>([
    ["operator", ["operator", "supervisor"]],
    ["approver", ["carol", "approver"]],
  ])("calls as the %s: delegations as operator, approvals as the user, so the user may approve what the CLI delegated", async (actor, expected) => {
    const md = await cliAuth({ home: newHome(), token: undefined, user: "carol" }, actor);
    const claims = claimsOf(md);
    expect([claims.sub, claims.role]).toEqual(expected);
  });

  it("sends the configured token for either actor", async () => {
    const config = { home: "/nonexistent/agentmesh", token: "abc.def.ghi", user: "carol" };
    expect([await cliAuth(config, "operator"), await cliAuth(config, "approver")]).toEqual([
      { authorization: "Bearer abc.def.ghi" }, { authorization: "Bearer abc.def.ghi" },
    ]);
  });
});
