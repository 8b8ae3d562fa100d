/** Entry point of the summarizer process: `node --import tsx services/summarizer/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readServiceConfig } from "../shared/service-config.js";
import { startSummarizer } from "./agent.js";

await runUntilSignal("summarizer", () => startSummarizer(readServiceConfig("summarizer", process.env)));
