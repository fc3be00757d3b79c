/** EventBridge Scheduler in the local cloud: the templates' schedules, served on the control port. */
import type { ServiceModule } from '../service-module';
import { SchedulerService } from './service';

export const schedulerModule: ServiceModule = {
  sdkServiceIds: { scheduler: 'SCHEDULER' },
  load(cloud) {
    const scheduler = new SchedulerService(cloud);
    cloud.mount('scheduler', scheduler, { rest: scheduler.restService, settles: 'EventBridge Scheduler' });
    // Runs last: a template's rate() schedule fires at once.
    return { run: () => scheduler.start() };
  },
};
