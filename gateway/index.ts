/** Public API of the gateway. */
export { startGateway, gatewayName } from "./gateway.js";
export type { RunningGateway } from "./gateway.js";
export { readGatewayConfig, gatewayDefaults } from "./config.js";
export type { GatewayConfig } from "./config.js";
export { createRoutingTable } from "./routing-table.js";
export type { RoutingTable, Replica } from "./routing-table.js";
