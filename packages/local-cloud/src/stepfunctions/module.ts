/** Step Functions in the local cloud: the templates' state machines, served on the control port. */
import type { ServiceModule } from '../service-module';
import { StepFunctionsService } from './service';

export const stepFunctionsModule: ServiceModule = {
  sdkServiceIds: { states: 'SFN' },
  load(cloud) {
    const stepFunctions = new StepFunctionsService(cloud);
    cloud.mount('states', stepFunctions, { json: stepFunctions.jsonService });
    // Registers its settle check and its target prefix.
    stepFunctions.start();
    // `dynamodb:*Item` tasks go to DynamoDB Local once it runs (a failure to start surfaces elsewhere).
    cloud.dynamodb.then(
      (dynamodb) => stepFunctions.setDynamoDbEndpoint(dynamodb.endpoint),
      () => {},
    );
    return {};
  },
};
