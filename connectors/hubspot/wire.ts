/**
 * Shapes of HubSpot responses we rely on, checked with zod at the boundary (after the official
 * client deserialised them: dates arrive as `Date`, property values as strings or null).
 * Sources: API_FACTS §CRM v3 objects, §Associations v4, §Properties & owners.
 */
import { z } from 'zod';
import { parseOrThrow } from '../../src/validation.js';
import { ERR_HUBSPOT_PAYLOAD } from './errors.js';

const Instant = z.union([z.date(), z.string().min(1)]);

const Paging = z
  .looseObject({
    next: z
      .looseObject({ after: z.string().min(1) })
      .optional()
      .nullable(),
  })
  .optional()
  .nullable();

export const ObjectSchema = z.looseObject({
  id: z.string().min(1),
  properties: z.record(z.string(), z.string().nullable().optional()),
  createdAt: Instant.optional(),
  updatedAt: Instant.optional(),
  archived: z.boolean().optional(),
  archivedAt: Instant.optional().nullable(),
  /** Inline associations of a list read (`?associations=companies`), possibly paged. */
  associations: z
    .record(
      z.string(),
      z.looseObject({ results: z.array(z.looseObject({ id: z.string() })), paging: Paging }).optional(),
    )
    .optional()
    .nullable(),
});
export type HubSpotObject = z.infer<typeof ObjectSchema>;

export const ListPageSchema = z.looseObject({ results: z.array(ObjectSchema), paging: Paging });
export const SearchPageSchema = z.looseObject({
  total: z.number().int().optional(),
  results: z.array(ObjectSchema),
  paging: Paging,
});

const BatchErrorSchema = z.looseObject({
  status: z.string().optional(),
  category: z.string().optional(),
  message: z.string().optional(),
  id: z.string().optional().nullable(),
  errors: z
    .array(
      z.looseObject({
        message: z.string().optional(),
        code: z.string().optional(),
        subCategory: z.unknown().optional(),
      }),
    )
    .optional()
    .nullable(),
  context: z.record(z.string(), z.array(z.string()).optional().nullable()).optional().nullable(),
});
export type BatchError = z.infer<typeof BatchErrorSchema>;

export const BatchResultSchema = z.looseObject({
  status: z.string().optional(),
  results: z.array(ObjectSchema.extend({ objectWriteTraceId: z.string().optional().nullable() })).default([]),
  errors: z.array(BatchErrorSchema).optional().nullable(),
  numErrors: z.number().optional().nullable(),
});

export const AssociationBatchSchema = z.looseObject({
  results: z
    .array(
      z.looseObject({
        _from: z.looseObject({ id: z.string() }).optional(),
        from: z.looseObject({ id: z.string() }).optional(),
        to: z.array(
          z.looseObject({
            toObjectId: z.union([z.string(), z.number()]),
            associationTypes: z.array(z.looseObject({ typeId: z.number().optional() })).optional(),
          }),
        ),
        paging: Paging,
      }),
    )
    .default([]),
  errors: z.array(BatchErrorSchema).optional().nullable(),
});

export const PropertySchema = z.looseObject({
  name: z.string().min(1),
  label: z.string(),
  type: z.string(),
  fieldType: z.string(),
  groupName: z.string().optional(),
  description: z.string().optional(),
  hasUniqueValue: z.boolean().optional(),
  hubspotDefined: z.boolean().optional(),
  options: z
    .array(z.looseObject({ label: z.string(), value: z.string(), hidden: z.boolean().optional() }))
    .default([]),
  modificationMetadata: z.looseObject({ readOnlyValue: z.boolean().optional() }).optional(),
});
export type HubSpotProperty = z.infer<typeof PropertySchema>;
export const PropertiesSchema = z.looseObject({ results: z.array(PropertySchema) });
export const GroupsSchema = z.looseObject({ results: z.array(z.looseObject({ name: z.string() })) });

export const OwnerSchema = z.looseObject({
  id: z.string().min(1),
  email: z.string().optional().nullable(),
  firstName: z.string().optional().nullable(),
  lastName: z.string().optional().nullable(),
  archived: z.boolean().optional(),
  updatedAt: Instant.optional(),
});
export const OwnersPageSchema = z.looseObject({ results: z.array(OwnerSchema), paging: Paging });

export const PipelinesSchema = z.looseObject({
  results: z.array(
    z.looseObject({
      id: z.string(),
      stages: z.array(
        z.looseObject({ id: z.string(), metadata: z.record(z.string(), z.unknown()).optional().nullable() }),
      ),
    }),
  ),
});

export const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive(),
  token_type: z.string().optional(),
});
/** The SDK deserialises the token response into camelCase (TokenResponseIF). */
export const SdkTokenResponseSchema = z.looseObject({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresIn: z.number().int().positive(),
});
export const AccessTokenInfoSchema = z.looseObject({
  hubId: z.number().int(),
  scopes: z.array(z.string()).optional(),
  userId: z.number().int().optional(),
  appId: z.number().int().optional(),
});

export function parseWire<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  return parseOrThrow(schema, input, `HubSpot ${what} response`, ERR_HUBSPOT_PAYLOAD);
}

export function instantIso(v: Date | string | undefined | null): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  const asNumber = Number(v);
  const d = Number.isFinite(asNumber) && /^\d+$/.test(v) ? new Date(asNumber) : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
