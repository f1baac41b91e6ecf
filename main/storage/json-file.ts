import * as v from 'valibot';
import { TokiosError } from '../../shared/errors.js';

/**
 * Reading the app's own JSON files (deployments, settings, secrets, the gateway's store)
 * through a schema, so what comes out is checked and typed, never cast. A file that does
 * not fit is reported with the file, the field and what to do; it is never rewritten here.
 */

export function parseJsonFile<S extends v.GenericSchema>(file: string, text: string, schema: S, whatToDo: string): v.InferOutput<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TokiosError('STORE_CORRUPT', `${file} is not valid JSON (${(error as Error).message}); ${whatToDo}`);
  }
  // A strict object's unknown field is named first: it is most often a typo of a field that
  // would otherwise be reported as missing ("acounts" → "field `accounts`: is missing").
  const known = schema.type === 'strict_object' ? Object.keys((schema as unknown as v.StrictObjectSchema<v.ObjectEntries, undefined>).entries) : null;
  const stray = known && typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value).find((key) => !known.includes(key)) : undefined;
  if (known && stray !== undefined) throw new TokiosError('STORE_CORRUPT', `${file}: \`${stray.slice(0, 40)}\` is not a known field; known fields are ${known.join(', ')}; ${whatToDo}`);
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const [issue] = result.issues;
  const path = v.getDotPath(issue);
  const problem = path && issue.received === 'undefined' ? 'is missing' : issue.message;
  throw new TokiosError('STORE_CORRUPT', `${file}: ${path ? `field \`${path}\`: ` : ''}${problem}; ${whatToDo}`);
}

/** The `version` a file declares, checked before the rest: a newer Tokios may have written it. */
export function versionSchema<const N extends number>(version: N, file: string) {
  return v.literal(version, (issue) =>
    typeof issue.input === 'number' && issue.input > version
      ? `is ${issue.input}: ${file} was written by a newer Tokios, which this one cannot read`
      : `must be ${version}`);
}
