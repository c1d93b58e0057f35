/**
 * Server-side gate of the write-back switch: turning write-back ON is refused unless a dry run of
 * the tenant's CURRENT rules, mapping and pilot was produced recently. The page also hides the
 * switch until it has shown a preview, but a page is not a control (another tab, an old page, a
 * script with the session may call the API), so the server keeps its own record.
 *
 * The record is a store flag per tenant: a fingerprint of the config the dry run used and when it
 * ran. Any change of rules/mapping makes the fingerprint differ (and the change routes also clear
 * the flag, so changing A → B → A still needs a new preview); the flag's TTL and the recorded time
 * (checked against the injected clock) bound how old a preview may be.
 */
import { createHash } from 'node:crypto';
import type { JsonValue } from '../../../connectors/contract.js';
import type { Store, Tenant } from '../../store/types.js';
import { HttpError } from '../http-errors.js';

export const ERR_WRITE_BACK_PREVIEW_REQUIRED = 'ERR_WRITE_BACK_PREVIEW_REQUIRED';

/** How long a dry run vouches for the config it previewed. */
export const PREVIEW_VALID_MS = 30 * 60_000;

const FLAG = 'write-back-preview';

/** Why the switch was refused (in `details.reason`; the code stays the same for the page). */
export type PreviewGap = 'missing' | 'config-changed' | 'expired';

/** JSON with object keys sorted, so equal configs hash equal whatever their key order. */
function canonical(v: JsonValue | undefined): string {
  if (v === null || v === undefined || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
}

/** What a dry run's output depends on among the tenant's settings. */
export function configFingerprint(tenant: Tenant): string {
  const { rules, mappingOverride, pilot } = tenant.config;
  const basis = canonical({ crm: tenant.crm, rules, mappingOverride, pilot });
  return createHash('sha256').update(basis).digest('hex');
}

/** After a successful dry run of `tenant` as loaded BEFORE the run started. */
export async function recordPreview(store: Store, tenant: Tenant, at: Date): Promise<void> {
  await store.setFlag(
    tenant.id,
    FLAG,
    { fingerprint: configFingerprint(tenant), at: at.toISOString() },
    PREVIEW_VALID_MS,
  );
}

/** Rules or mapping changed: the last preview no longer shows what would be written. */
export async function forgetPreview(store: Store, tenantId: string): Promise<void> {
  await store.clearFlag(tenantId, FLAG);
}

export async function previewGap(store: Store, tenant: Tenant, now: Date): Promise<PreviewGap | null> {
  const raw = await store.getFlag(tenant.id, FLAG);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'missing';
  const { fingerprint, at } = raw;
  if (fingerprint !== configFingerprint(tenant)) return 'config-changed';
  const atMs = typeof at === 'string' ? Date.parse(at) : Number.NaN;
  if (!Number.isFinite(atMs) || now.getTime() - atMs > PREVIEW_VALID_MS) return 'expired';
  return null;
}

/** Throws 409 with a stable code unless a recent preview of the current config exists. */
export async function requireRecentPreview(store: Store, tenant: Tenant, now: Date): Promise<void> {
  const gap = await previewGap(store, tenant, now);
  if (gap === null) return;
  const why = {
    missing: 'no dry-run preview was produced',
    'config-changed': 'the rules or mapping changed since the last dry-run preview',
    expired: `the last dry-run preview is older than ${PREVIEW_VALID_MS / 60_000} minutes`,
  }[gap];
  throw new HttpError(409, ERR_WRITE_BACK_PREVIEW_REQUIRED, `look at the preview first: ${why}`, {
    details: { reason: gap },
  });
}
