/** Entry point of the publisher process: `node --import tsx services/publisher/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readServiceConfig } from "../shared/service-config.js";
import { startPublisher } from "./agent.js";

await runUntilSignal("publisher", () => startPublisher(readServiceConfig("publisher", process.env)));
