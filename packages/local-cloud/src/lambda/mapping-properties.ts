/**
 * Reading an `AWS::Lambda::EventSourceMapping`'s properties, shared by every kind of source
 * (DynamoDB streams, SQS): typed values with ranges checked, errors and unsupported keys reported
 * by property path, filter criteria compiled, and the function resolved (aliases and versions run
 * the current code, which is said once at start-up).
 */
import { parsePattern, type CompiledPattern } from '../events/pattern';
import type { CloudModel, ModelResource } from '../model';
import type { LambdaService, LocalFunction } from './service';

export class MappingProperties {
  readonly props: Record<string, unknown>;
  readonly where: string;
  /** False once any property was reported as an error: the mapping must not start. */
  valid = true;

  constructor(
    private readonly model: CloudModel,
    resource: ModelResource,
  ) {
    this.props = model.properties(resource);
    this.where = resource.where;
  }

  error(key: string, message: string): void {
    this.model.diagnostics.error(`${this.where}/${key}`, message);
    this.valid = false;
  }

  unsupported(key: string, message: string): void {
    this.model.diagnostics.unsupported(`${this.where}/${key}`, message);
  }

  /**
   * Reports every key that is not handled: no local effect, rejected by Lambda for this source
   * (`invalidForSource`), or not emulated.
   */
  checkKeys(
    handled: ReadonlySet<string>,
    noLocalEffect: Readonly<Record<string, string>>,
    sourceKind: string,
    invalidForSource: ReadonlySet<string> = new Set(),
  ): void {
    for (const key of Object.keys(this.props)) {
      if (handled.has(key)) continue;
      if (noLocalEffect[key]) this.model.diagnostics.ignored(`${this.where}/${key}`, noLocalEffect[key]!);
      else if (invalidForSource.has(key)) this.error(key, `${key} is not valid for ${sourceKind} event source (Lambda rejects it)`);
      else this.unsupported(key, `${key} is not emulated for ${sourceKind} event-source mappings (ignored)`);
    }
  }

  /** An integer in [min, max]; `fallback` when absent. `path` names a nested value (e.g. `ScalingConfig/MaximumConcurrency`). */
  integer(path: string, fallback: number, min: number, max: number): number {
    const raw = this.at(path);
    if (raw === undefined || raw === null) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.error(path, `${JSON.stringify(raw)} is not an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  flag(path: string, fallback: boolean): boolean {
    const raw = this.at(path);
    if (raw === undefined || raw === null) return fallback;
    if (raw === true || raw === 'true') return true;
    if (raw === false || raw === 'false') return false;
    this.error(path, `${JSON.stringify(raw)} is not a boolean`);
    return fallback;
  }

  /** Whether `FunctionResponseTypes` asks for partial batch responses. */
  reportBatchItemFailures(): boolean {
    const responseTypes = this.props.FunctionResponseTypes ?? [];
    let report = false;
    if (!Array.isArray(responseTypes)) this.error('FunctionResponseTypes', 'must be a list');
    else {
      for (const type of responseTypes) {
        if (type === 'ReportBatchItemFailures') report = true;
        else this.error('FunctionResponseTypes', `unknown response type ${JSON.stringify(type)}`);
      }
    }
    return report;
  }

  /** `FilterCriteria.Filters[].Pattern`, compiled; a record is delivered when any matches. */
  filters(): CompiledPattern[] {
    const filters: CompiledPattern[] = [];
    const list = (this.props.FilterCriteria as { Filters?: unknown } | undefined)?.Filters ?? [];
    if (!Array.isArray(list)) {
      this.error('FilterCriteria', 'Filters must be a list');
      return filters;
    }
    for (const [i, filter] of list.entries()) {
      const pattern = (filter as { Pattern?: unknown } | null)?.Pattern;
      try {
        filters.push(parsePattern(typeof pattern === 'string' ? pattern : JSON.stringify(pattern ?? null)));
      } catch (e) {
        this.error(`FilterCriteria/Filters/${i}/Pattern`, `invalid filter pattern: ${(e as Error).message}`);
      }
    }
    return filters;
  }

  /**
   * The function the mapping invokes: by name or ARN, or through a qualified ARN or an alias or
   * version of the templates (locally every function has one version, which is then invoked).
   * Reports and returns undefined when it does not run locally.
   */
  function(lambda: LambdaService): LocalFunction | undefined {
    const name = typeof this.props.FunctionName === 'string' ? this.props.FunctionName : '';
    const direct = lambda.get(name);
    if (direct) return direct;
    let target: string | undefined;
    const qualified = /^(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):([^:]+)$/.exec(name);
    if (qualified) target = qualified[1];
    else {
      const pointer = this.model.resources.find(
        (r) => (r.type === 'AWS::Lambda::Alias' || r.type === 'AWS::Lambda::Version') && r.ref === name,
      );
      const pointed = pointer ? this.model.properties(pointer).FunctionName : undefined;
      if (typeof pointed === 'string') target = pointed;
    }
    const fn = target ? lambda.get(target) : undefined;
    if (fn)
      this.unsupported('FunctionName', `versions and aliases are not emulated: the mapping invokes the current code of ${fn.spec.name}`);
    else this.unsupported('FunctionName', `function ${name || '(none)'} does not run locally: the mapping is not started`);
    return fn;
  }

  private at(path: string): unknown {
    return path.split('/').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], this.props);
  }
}
