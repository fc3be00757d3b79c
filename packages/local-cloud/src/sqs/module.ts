/** SQS in the local cloud: the templates' queues on the control port, and their Lambda event-source mappings. */
import type { ServiceModule } from '../service-module';
import { SqsEventSourceMappings } from './event-source';
import { SqsService } from './service';

export const sqsModule: ServiceModule = {
  sdkServiceIds: { sqs: 'SQS' },
  async load(cloud) {
    const sqs = new SqsService(cloud, { endpoint: cloud.controlUrl });
    cloud.mount('sqs', sqs, { json: sqs.jsonService, settles: 'SQS' });
    await sqs.start();
    // Queue URLs in function environments and outputs point at the local SQS, not at AWS.
    cloud.model.addLocalizer((text) => sqs.localizeUrls(text));
    const mappings = new SqsEventSourceMappings(cloud, sqs);
    cloud.stopOnExit(mappings);
    return {
      async run() {
        await mappings.start();
        cloud.clock.register({ name: 'SQS event-source mappings', isIdle: () => mappings.isIdle() });
      },
      describe: (resource) => (resource.type === 'AWS::SQS::Queue' ? { url: sqs.queueUrl(resource.physicalId) } : undefined),
    };
  },
};
