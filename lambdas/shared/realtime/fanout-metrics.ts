/**
 * Fan-out's metrics, the same from the stream consumer and the job worker (STYLE 10): what was
 * delivered, removed and read, so cost per delivered message is visible (ReadCapacityUnits /
 * Deliveries).
 */
import { metrics, MetricUnit } from '../observability';
import type { FanoutStats } from './fanout';

export function recordFanoutStats(stats: FanoutStats): void {
  metrics.addMetric('TopicEvents', MetricUnit.Count, stats.events);
  if (stats.coalesced > 0) metrics.addMetric('EventsCoalesced', MetricUnit.Count, stats.coalesced);
  metrics.addMetric('Deliveries', MetricUnit.Count, stats.deliveries);
  if (stats.goneConnections > 0) metrics.addMetric('GoneConnections', MetricUnit.Count, stats.goneConnections);
  if (stats.jobsEnqueued > 0) metrics.addMetric('JobsEnqueued', MetricUnit.Count, stats.jobsEnqueued);
  metrics.addMetric('ReadCapacityUnits', MetricUnit.Count, stats.readCapacityUnits);
}
