/**
 * Filter criteria for the domain table's stream consumers (STYLE 9): a function is invoked only for
 * the changes it reacts to. Both consumers build theirs from their own list of triggers (the event
 * catalog, fan-out's topic sources), so adding a trigger needs no change to the infrastructure.
 */
import { FilterCriteria, FilterRule } from 'aws-cdk-lib/aws-lambda';
import { CHANGE_TYPES, ENTITY_ATTRIBUTE, type StreamTrigger } from '../../lambdas/shared/cdc/change';

/**
 * The stream filters for `triggers`: one per change type, matching the `entity` attribute of the
 * image that change carries (the new image, or the old one for REMOVE). At most three filters
 * however long the list grows (Lambda allows five per mapping by default).
 */
export function streamFilters(triggers: readonly StreamTrigger[]): Record<string, unknown>[] {
  return CHANGE_TYPES.flatMap((change) => {
    const entities = [...new Set(triggers.filter((t) => t.change === change).map((t) => t.entity))].sort();
    if (entities.length === 0) return [];
    const image = change === 'REMOVE' ? 'OldImage' : 'NewImage';
    return [
      FilterCriteria.filter({
        eventName: FilterRule.isEqual(change),
        dynamodb: { [image]: { [ENTITY_ATTRIBUTE]: { S: FilterRule.or(...entities) } } },
      }),
    ];
  });
}
