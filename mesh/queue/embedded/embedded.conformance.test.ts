/**
 * The shared conformance suite against the embedded adapter: every `open()` opens
 * the same temporary directory, as the suite requires.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { describeQueueBackendConformance } from "../conformance.js";
import { openEmbeddedBackend } from "./embedded-backend.js";

const dir = mkdtempSync(join(tmpdir(), "agentmesh-embedded-conformance-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeQueueBackendConformance("embedded", (settings) => openEmbeddedBackend(dir, settings));
