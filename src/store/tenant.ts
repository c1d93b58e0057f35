/** Tenant record rules shared by both stores: defaults, patch semantics, validation on read. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { JsonValue } from '../../connectors/contract.js';
import { parseOrThrow } from '../validation.js';
import type { NewTenant, Tenant, TenantPatch } from './types.js';
import { DEFAULT_TENANT_CONFIG, ERR_STORE_CORRUPT } from './types.js';
import { assertTenantId } from './keys.js';

const Json: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(Json), z.record(z.string(), Json)]),
);

const TenantSchema = z.strictObject({
  id: z.string(),
  crm: z.enum(['hubspot', 'salesforce']),
  accountId: z.string().min(1),
  mode: z.enum(['oauth', 'private']),
  name: z.string().optional(),
  status: z.enum(['connected', 'disconnected']),
  statusReason: z.string().optional(),
  statusAt: z.string(),
  config: z.strictObject({
    rules: Json.nullable(),
    mappingOverride: Json.nullable(),
    settings: z.record(z.string(), Json),
    writeBack: z.enum(['off', 'on']),
    pilot: Json.nullable(),
  }),
  createdAt: z.string(),
  lastSyncAt: z.string().optional(),
  nextSyncAt: z.string().optional(),
});

export function newTenantId(): string {
  return randomBytes(9).toString('base64url');
}

export function buildTenant(input: NewTenant, now: Date): Tenant {
  const id = assertTenantId(input.id ?? newTenantId());
  return {
    id,
    crm: input.crm,
    accountId: input.accountId,
    mode: input.mode,
    ...(input.name === undefined ? {} : { name: input.name }),
    status: 'connected',
    statusAt: now.toISOString(),
    config: { ...DEFAULT_TENANT_CONFIG, ...input.config },
    createdAt: now.toISOString(),
  };
}

export function applyTenantPatch(tenant: Tenant, patch: TenantPatch, now: Date): Tenant {
  const next: Tenant = { ...tenant, config: { ...tenant.config, ...patch.config } };
  if (patch.name === null) delete next.name;
  else if (patch.name !== undefined) next.name = patch.name;
  if (patch.mode !== undefined) next.mode = patch.mode;
  if (patch.status !== undefined) {
    if (patch.status !== tenant.status) next.statusAt = now.toISOString();
    next.status = patch.status;
    delete next.statusReason;
  }
  if (patch.statusReason === null) delete next.statusReason;
  else if (patch.statusReason !== undefined) next.statusReason = patch.statusReason;
  for (const member of ['lastSyncAt', 'nextSyncAt'] as const) {
    const value = patch[member];
    if (value === null) delete next[member];
    else if (value !== undefined) next[member] = value.toISOString();
  }
  return next;
}

export function encodeTenant(tenant: Tenant): string {
  return JSON.stringify(tenant);
}

export function decodeTenant(raw: string): Tenant {
  return parseOrThrow(TenantSchema, JSON.parse(raw), 'stored tenant', ERR_STORE_CORRUPT) as Tenant;
}

export function accountField(crm: string, accountId: string): string {
  return `${crm}:${accountId}`;
}
