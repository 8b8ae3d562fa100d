/** How a one-shot `agentmesh` command talks to the gateway. */
import { createGrpcClient } from "../mesh/index.js";
import type { GrpcClient } from "../mesh/index.js";
import { printError } from "./cli-output.js";

/**
 * Runs `call` with a client of the gateway at `address`, then closes it. A
 * failure is printed (`printError`) and sets the exit code to 1; nothing is
 * thrown.
 */
export async function callGateway(address: string, call: (client: GrpcClient) => Promise<void>): Promise<void> {
  const client = createGrpcClient(address);
  try {
    await call(client);
  } catch (err) {
    printError(err);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}
