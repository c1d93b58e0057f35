/**
 * The mapping file schema (`mappings/<crm>.json`): which CRM objects feed which canonical kind,
 * which CRM field fills each canonical input, and the fields we own (their CRM names and labels).
 * A tenant may override any part (deep merge, then validated again).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CANONICAL_INPUTS, OWNED_FIELDS } from '../engine/model.js';
import type { CanonicalKind, OwnedKind } from '../engine/model.js';
import { parseOrThrow } from '../validation.js';

export const ERR_MAPPING_INVALID = 'ERR_MAPPING_INVALID';

const WireScalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/**
 * Where a canonical input comes from:
 * - `"fieldname"`: that CRM field, converted to the input's canonical type;
 * - `{ field, in }`: boolean, true when the field's value is one of `in` (e.g. lifecycle stages);
 * - `{ field, equals }`: boolean, true when the field equals a value;
 * - `{ field, currencyField?, currency? }`: money, with the currency from a field or a constant;
 * - `{ link }`: the id (or ids, for `personIds`) of the associated record(s) of that CRM object;
 * - `{ const }`: a constant.
 */
export const InputSourceSchema = z.union([
  z.string().min(1),
  z.strictObject({ field: z.string().min(1), in: z.array(z.string()).min(1) }),
  z.strictObject({ field: z.string().min(1), equals: WireScalar }),
  z.strictObject({
    field: z.string().min(1),
    currencyField: z.string().min(1).optional(),
    currency: z.string().length(3).optional(),
  }),
  z.strictObject({ link: z.string().min(1) }),
  z.strictObject({ const: WireScalar }),
]);
export type InputSource = z.infer<typeof InputSourceSchema>;

export const OwnedFieldMappingSchema = z.strictObject({
  /** CRM internal name. */
  name: z.string().min(1),
  label: z.string().min(1),
  description: z.string().optional(),
  /** For `multi` fields: the options to provision (more are added, never removed). */
  options: z.array(z.string().min(1)).optional(),
  unique: z.boolean().optional(),
});

export const WritePolicySchema = z.enum(['always', 'only-if-empty', 'never']);
export type WritePolicy = z.infer<typeof WritePolicySchema>;

export const ObjectMappingSchema = z.strictObject({
  kind: z.enum(['person', 'company', 'deal', 'ticket', 'owner']),
  /** For people: contact or lead. */
  personKind: z.enum(['contact', 'lead']).optional(),
  /** Associated objects to read with each page. */
  links: z.array(z.string().min(1)).default([]),
  /** Canonical input path → source. Only inputs listed in CANONICAL_INPUTS for the kind. */
  inputs: z.record(z.string(), InputSourceSchema).default({}),
  /** Canonical owned-field id → CRM field definition. Only kinds that have owned fields. */
  owned: z.record(z.string(), OwnedFieldMappingSchema).default({}),
  /**
   * Admin-mapped fields we do NOT own that should also receive a computed value
   * (e.g. copy `referral_code` into an existing "Promo code" field), with a write policy.
   */
  mirrors: z
    .array(
      z.strictObject({
        from: z.string().min(1),
        field: z.string().min(1),
        policy: WritePolicySchema.default('only-if-empty'),
      }),
    )
    .default([]),
});
export type ObjectMapping = z.infer<typeof ObjectMappingSchema>;

export const MappingSchema = z
  .strictObject({
    crm: z.enum(['hubspot', 'salesforce']),
    version: z.literal(1),
    /** Property group (HubSpot) / field-set prefix and permission set (Salesforce) we create. */
    fieldGroup: z.strictObject({ name: z.string().min(1), label: z.string().min(1) }),
    /** CRM object name → how it maps. Order matters only for display. */
    objects: z.record(z.string(), ObjectMappingSchema),
    /** Referral link template; `{code}` is replaced by the person's referral code. */
    referralLinkTemplate: z.string().includes('{code}').default('https://example.com/r/{code}'),
    defaultCurrency: z.string().length(3).default('USD'),
  })
  .superRefine((m, ctx) => {
    for (const [object, om] of Object.entries(m.objects)) {
      const allowedInputs = CANONICAL_INPUTS[om.kind as CanonicalKind] as Record<string, string>;
      for (const path of Object.keys(om.inputs)) {
        if (
          !(path in allowedInputs) &&
          !(om.kind === 'deal' && path === 'personIds') &&
          !(om.kind === 'ticket' && path === 'personIds')
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['objects', object, 'inputs', path],
            message: `"${path}" is not a canonical ${om.kind} input`,
          });
        }
      }
      const ownedKind =
        om.kind === 'person' || om.kind === 'deal' || om.kind === 'company' ? (om.kind as OwnedKind) : null;
      for (const id of Object.keys(om.owned)) {
        if (ownedKind === null || !(id in OWNED_FIELDS[ownedKind])) {
          ctx.addIssue({
            code: 'custom',
            path: ['objects', object, 'owned', id],
            message: `"${id}" is not a field we own on a ${om.kind}`,
          });
        }
      }
      if (om.kind === 'person' && om.personKind === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['objects', object, 'personKind'],
          message: 'people need personKind',
        });
      }
    }
  });
export type Mapping = z.infer<typeof MappingSchema>;
export type MappingInput = z.input<typeof MappingSchema>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for tenant overrides: objects merge, arrays and scalars replace, `null` deletes. */
export function mergeOverride(base: unknown, override: unknown): unknown {
  if (override === null) return undefined;
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    const merged = mergeOverride(base[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  return out;
}

export function parseMapping(input: unknown, what = 'mapping'): Mapping {
  return parseOrThrow(MappingSchema, input, what, ERR_MAPPING_INVALID);
}

const mappingDir = fileURLToPath(new URL('../../mappings/', import.meta.url));

/** The shipped default mapping of a CRM, with an optional tenant override applied and validated. */
export function loadMapping(crm: 'hubspot' | 'salesforce', override?: unknown): Mapping {
  const raw: unknown = JSON.parse(readFileSync(`${mappingDir}${crm}.json`, 'utf8'));
  return parseMapping(override === undefined ? raw : mergeOverride(raw, override), `mappings/${crm}.json`);
}
