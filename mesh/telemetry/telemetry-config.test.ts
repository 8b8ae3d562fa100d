import { describe, expect, it } from "vitest";
import { readTelemetryConfig } from "./telemetry-config.js";

describe("readTelemetryConfig", () => {
  it("defaults to the embedded span store, parent-based always-on sampling", () => {
    expect(readTelemetryConfig({})).toEqual({
      serviceName: undefined, exporters: ["embedded"], otlpEndpoint: undefined, sampler: "parentbased_always_on", samplerRatio: 1,
      scheduleDelayMs: undefined, resourceAttributes: {},
      metrics: { exporters: ["embedded"], otlpEndpoint: undefined, exportIntervalMs: undefined },
    });
  });

  it("exports OTLP when an endpoint is set, with the pod's resource attributes", () => {
    expect(readTelemetryConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4317", OTEL_SERVICE_NAME: "sum", OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=a%20b", POD_NAME: "sum-7f9", POD_NAMESPACE: "mesh",
    })).toEqual({
      serviceName: "sum", exporters: ["otlp"], otlpEndpoint: "http://collector:4317", sampler: "parentbased_traceidratio", samplerRatio: 0.25, scheduleDelayMs: undefined,
      resourceAttributes: { "deployment.environment": "prod", team: "a b", "k8s.pod.name": "sum-7f9", "k8s.namespace.name": "mesh" },
      metrics: { exporters: ["otlp", "embedded"], otlpEndpoint: "http://collector:4317", exportIntervalMs: undefined },
    });
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: "otlp,embedded" }, ["otlp", "embedded"]],
    [{ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317" }, []],
    [{ OTEL_SDK_DISABLED: "true" }, []],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4317" }, ["otlp"]],
  ])("reads the exporters of %o", (env, exporters) => {
    expect(readTelemetryConfig(env).exporters).toEqual(exporters);
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: "zipkin" }, 'OTEL_TRACES_EXPORTER must list otlp, console, embedded or none, not "zipkin"'],
    [{ OTEL_TRACES_SAMPLER: "sometimes" }, 'OTEL_TRACES_SAMPLER must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, not "sometimes"'],
    [{ OTEL_TRACES_SAMPLER_ARG: "2" }, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not "2"'],
    [{ OTEL_RESOURCE_ATTRIBUTES: "novalue" }, 'OTEL_RESOURCE_ATTRIBUTES entries must be key=value, not "novalue"'],
    [{ OTEL_BSP_SCHEDULE_DELAY: "-1" }, 'OTEL_BSP_SCHEDULE_DELAY must be a positive integer, not "-1"'],
  ])("refuses %o", (env, message) => {
    expect(() => readTelemetryConfig(env)).toThrow(new Error(message));
  });
});
