/** Entry point of the gateway process: `node --import tsx gateway/main.ts`. */
import { readGatewayConfig } from "./config.js";
import { startGateway } from "./gateway.js";
import { runUntilSignal } from "../mesh/index.js";

await runUntilSignal("gateway", () => startGateway(readGatewayConfig(process.env)));
