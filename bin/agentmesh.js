#!/usr/bin/env node
// The installed `agentmesh` command: runs cli/main.ts through tsx.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
