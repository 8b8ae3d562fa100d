/** Entry point of the segmenter process: `node --import tsx services/segmenter/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readServiceConfig } from "../shared/service-config.js";
import { startSegmenter } from "./agent.js";

await runUntilSignal("segmenter", () => startSegmenter(readServiceConfig("segmenter", process.env)));
