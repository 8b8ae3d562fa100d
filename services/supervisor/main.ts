/** Entry point of the supervisor process: `node --import tsx services/supervisor/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readServiceConfig } from "../shared/service-config.js";
import { startSupervisor } from "./agent.js";

await runUntilSignal("supervisor", () => startSupervisor(readServiceConfig("supervisor", process.env)));
