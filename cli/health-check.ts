/**
 * A minimal `grpc.health.v1.Health/Check` client. The two messages are tiny, so
 * they are encoded by hand: the request names a service (field 1, string), the
 * response carries the status (field 1, enum; 1 = SERVING).
 */
import * as grpc from "@grpc/grpc-js";

/** True when the server at `address` answers SERVING for `service` ("" = the whole server). */
export function checkHealth(address: string, service = "", timeoutMs = 1_000): Promise<boolean> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const name = Buffer.from(service);
  const request = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, res) => {
        client.close();
        resolve(err === null && res !== undefined && res[0] === 0x08 && res[1] === 1);
      },
    );
  });
}
