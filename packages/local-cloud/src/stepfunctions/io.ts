/**
 * Input and output processing of JSONPath states, as AWS applies it:
 * InputPath → Parameters → (the work) → ResultSelector → ResultPath → OutputPath,
 * with payload templates (`"key.$": "$.path" | "$$.context" | "States.Fn(...)"`).
 */
import { StatesError, runtimeError } from './errors';
import { evaluateIntrinsic, isIntrinsic } from './intrinsics';
import { JsonPathError, isObject, parsePath, query, setPath } from './jsonpath';

/** Evaluates a `.$` value: a path into the input (`$...`), the context (`$$...`) or an intrinsic call. */
export function evaluateExpression(text: unknown, input: unknown, context: unknown, field: string): unknown {
  if (typeof text !== 'string')
    throw runtimeError(`The value for the field '${field}' must be a STRING that contains a JSONPath or an intrinsic function`);
  if (isIntrinsic(text)) return evaluateIntrinsic(text, { input, context });
  if (!text.startsWith('$'))
    throw runtimeError(
      `The value for the field '${field}' must be a valid JSONPath or a valid intrinsic function call, got ${JSON.stringify(text)}`,
    );
  const path = parse(text);
  const result = query(path, path.context ? context : input);
  if (!result.found) {
    throw runtimeError(
      `The JSONPath '${text}' specified for the field '${field}' could not be found in the input '${JSON.stringify(path.context ? context : input)}'`,
    );
  }
  return result.value;
}

/** A payload template (Parameters, ResultSelector, ItemSelector) applied to `input`. */
export function applyTemplate(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((v) => applyTemplate(v, input, context));
  if (!isObject(template)) return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) out[key.slice(0, -2)] = evaluateExpression(value, input, context, key);
    else out[key] = applyTemplate(value, input, context);
  }
  return out;
}

/** InputPath / OutputPath: `undefined` keeps the value, `null` gives `{}`. */
export function selectPath(path: unknown, value: unknown, context: unknown, field: 'InputPath' | 'OutputPath' | 'ItemsPath'): unknown {
  if (path === undefined) return value;
  if (path === null) return {};
  if (typeof path !== 'string') throw runtimeError(`${field} must be a JSONPath string or null, got ${JSON.stringify(path)}`);
  const p = parse(path);
  const result = query(p, p.context ? context : value);
  if (!result.found) throw runtimeError(`Invalid path '${path}' : No results for path: ${path} (${field})`);
  return result.value;
}

/** ResultPath: where the result goes in the state's raw input (`null` discards it). */
export function applyResultPath(rawInput: unknown, result: unknown, path: unknown): unknown {
  if (path === undefined || path === '$') return result;
  if (path === null) return rawInput;
  if (typeof path !== 'string') throw runtimeError(`ResultPath must be a reference path string or null, got ${JSON.stringify(path)}`);
  try {
    return setPath(rawInput, parse(path), result);
  } catch (error) {
    if (error instanceof StatesError) throw error;
    throw new StatesError(
      'States.ResultPathMatchFailure',
      `Unable to apply ResultPath "${path}" to input "${JSON.stringify(rawInput)}": ${(error as Error).message}`,
    );
  }
}

function parse(text: string) {
  try {
    return parsePath(text);
  } catch (error) {
    if (error instanceof JsonPathError) throw runtimeError(error.message);
    throw error;
  }
}
