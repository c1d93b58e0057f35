/** `GET /sobjects/{object}/describe` → the fields an admin can map (only those visible to our user). */
import { z } from 'zod';
import type { CrmFieldInfo } from '../contract.js';
import { parseOrThrow } from '../../src/validation.js';
import type { SalesforceClient } from './connection.js';
import { ERR_SALESFORCE_PAYLOAD } from './errors.js';
import { assertApiName } from './soql.js';

const DescribeSchema = z.looseObject({
  fields: z.array(
    z.looseObject({
      name: z.string(),
      label: z.string(),
      type: z.string(),
      custom: z.boolean().optional(),
      picklistValues: z
        .array(z.looseObject({ value: z.string(), active: z.boolean().optional() }))
        .optional(),
    }),
  ),
});

export async function describeFields(
  client: SalesforceClient,
  object: string,
  owned: ReadonlySet<string>,
): Promise<CrmFieldInfo[]> {
  const res = await client.request('describe', `${object} describe`, {
    method: 'GET',
    path: `/sobjects/${assertApiName(object, 'object')}/describe`,
  });
  const d = parseOrThrow(DescribeSchema, res.body, `Salesforce ${object} describe`, ERR_SALESFORCE_PAYLOAD);
  return d.fields.map((f) => {
    const options = f.picklistValues?.filter((p) => p.active !== false).map((p) => p.value);
    return {
      name: f.name,
      label: f.label,
      type: f.type,
      owned: f.custom === true && owned.has(`${object}.${f.name}`),
      ...(options !== undefined && options.length > 0 ? { options } : {}),
    };
  });
}
