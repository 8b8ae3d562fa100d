/**
 * Keeps one agent replica registered with the gateway: registers at start,
 * heartbeats at a third of the lease, registers again when the lease was lost
 * (e.g. the gateway restarted), retries with backoff while the gateway is away,
 * and deregisters on stop.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { RegistryService } from "../../gen/agentmesh/v1/registry_pb.js";
import type { AgentCardSchema } from "../../gen/agentmesh/v1/registry_pb.js";
import type { GrpcClient } from "../client/grpc-client.js";
import type { Logger } from "../logger.js";

/** Options of `startRegistration`. */
export interface RegistrationOptions {
  readonly gateway: GrpcClient;
  readonly token: () => Promise<string>;
  readonly card: MessageInitShape<typeof AgentCardSchema> & { name: string };
  readonly instanceId: string;
  readonly logger: Logger;
}

/** A running registration. */
export interface Registration {
  /** Resolves once the first registration succeeded. */
  readonly registered: Promise<void>;
  /** Stops heartbeats and deregisters (best effort, bounded by 2 s). */
  stop(): Promise<void>;
}

/** Starts registering; never throws, logs what fails. */
export function startRegistration(o: RegistrationOptions): Registration {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let leased = false;
  let failures = 0;
  let markRegistered!: () => void;
  const registered = new Promise<void>((resolve) => (markRegistered = resolve));
  const auth = async () => ({ authorization: `Bearer ${await o.token()}` });

  const tick = async (): Promise<void> => {
    let waitMs: number;
    try {
      const deadline = Date.now() + 3_000;
      if (!leased) {
        const res = await o.gateway.unary(RegistryService.method.register, { card: o.card, instanceId: o.instanceId }, { metadata: await auth(), deadline });
        leased = true;
        markRegistered();
        o.logger.info("registered with the gateway", { gateway: o.gateway.address, instance: o.instanceId });
        waitMs = durationMs(res.leaseTtl!) / 3;
      } else {
        const res = await o.gateway.unary(RegistryService.method.heartbeat, { agent: o.card.name, instanceId: o.instanceId }, { metadata: await auth(), deadline });
        waitMs = durationMs(res.leaseTtl!) / 3;
      }
      failures = 0;
    } catch (err) {
      if (err instanceof ConnectError && err.code === Code.NotFound) {
        leased = false;
        waitMs = 0;
      } else {
        failures++;
        if (failures === 1 || failures % 10 === 0) {
          o.logger.warn("gateway registration failed; retrying", { error: String(err), failures });
        }
        leased = false;
        waitMs = Math.min(5_000, 200 * 2 ** Math.min(failures, 5));
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), waitMs);
  };
  void tick();

  return {
    registered,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      if (!leased) return;
      try {
        await o.gateway.unary(RegistryService.method.deregister, { agent: o.card.name, instanceId: o.instanceId }, { metadata: await auth(), deadline: Date.now() + 2_000 });
      } catch (err) {
        o.logger.warn("deregistration failed", { error: String(err) });
      }
    },
  };
}
