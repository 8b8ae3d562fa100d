/** Entry point of the sagas service process: `node --import tsx services/sagas/main.ts`. */
import { runUntilSignal } from "../../mesh/index.js";
import { readSagasConfig } from "./config.js";
import { startSagasService } from "./start-sagas-service.js";

await runUntilSignal("sagas", () => startSagasService(readSagasConfig(process.env)));
