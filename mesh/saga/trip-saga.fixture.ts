/**
 * A saga for the saga tests: three steps (flight, hotel, car), each booked with
 * `<step>.book` from the input's city and the names of the steps before it, and
 * compensated with `<step>.cancel` of the booking the step answered.
 */
import { defineSaga } from "./saga-definition.js";
import type { SagaDefinition } from "./saga-definition.js";

/** The test saga `trip`. */
export const tripSaga: SagaDefinition = defineSaga({
  name: "trip",
  description: "three steps",
  inputSchema: {},
  steps: ["flight", "hotel", "car"].map((name) => ({
    name,
    intent: `${name}.book`,
    inputs: ({ input, outputs }) => ({ city: input.city, before: Object.keys(outputs) }),
    compensation: { intent: `${name}.cancel`, inputs: ({ output }) => ({ booking: output.booking }) },
  })),
});
