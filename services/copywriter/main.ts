/** Entry point of the copywriter process: `node --import tsx services/copywriter/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readServiceConfig } from "../shared/service-config.js";
import { startCopywriter } from "./agent.js";

await runUntilSignal("copywriter", () => startCopywriter(readServiceConfig("copywriter", process.env)));
