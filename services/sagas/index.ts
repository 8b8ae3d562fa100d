// Public API of the sagas service: the service, its settings, the sagas it runs.
export { startSagasService, sagasServiceName, type RunningSagas, type SagasServiceOptions } from "./start-sagas-service.js";
export { readSagasConfig, coordinatorSubject, sagasPorts, type SagasConfig } from "./config.js";
export { campaignLaunchSaga, type CampaignLaunchInput } from "./campaign-launch-saga.js";
export { createSagaServiceImpl, createSagaValidators, type SagaServiceOptions } from "./saga-service.js";
export { sagaMessage } from "./saga-message.js";
