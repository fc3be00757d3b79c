/** EventBridge in the local cloud: the templates' buses, rules and targets, served on the control port. */
import type { ServiceModule } from '../service-module';
import { EventBridgeService } from './service';

export const eventBridgeModule: ServiceModule = {
  sdkServiceIds: { events: 'EVENTBRIDGE' },
  load(cloud) {
    const events = new EventBridgeService(cloud);
    cloud.mount('events', events, { json: events.jsonService });
    // start() registers its settle check and its target prefix, and arms the rules' schedules.
    return { start: () => events.start() };
  },
};
