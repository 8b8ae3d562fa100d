/** Entry point of the budgeter process: `node --import tsx services/budgeter/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { startBudgeter } from "./agent.js";
import { readBudgeterConfig } from "./config.js";

await runUntilSignal("budgeter", () => startBudgeter(readBudgeterConfig(process.env)));
