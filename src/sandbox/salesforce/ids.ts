/**
 * Salesforce record ids: 15-character case-sensitive id (3-char key prefix + pod + sequence)
 * plus the 3-character case-insensitive checksum suffix that makes the 18-character API id.
 * Checksum algorithm: for each 5-char chunk, bit i is set when char i is an uppercase letter;
 * the 5-bit value indexes "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" (SF knowledge article 000385585,
 * and every open-source id converter, e.g. simple-salesforce `format.py`).
 */
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Key prefixes of the objects the sandbox serves (SF Object Reference, "Key prefix"). */
export const KEY_PREFIXES = {
  Account: '001',
  Contact: '003',
  User: '005',
  Opportunity: '006',
  Task: '00T',
  Lead: '00Q',
  OpportunityContactRole: '00K',
  Case: '500',
  Organization: '00D',
  PermissionSet: '0PS',
  PermissionSetAssignment: '0Pa',
  CustomField: '00N',
  BulkJob: '750',
  QueryLocator: '01g',
} as const;

export function checksumSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) {
      const c = id15.charCodeAt(chunk * 5 + i);
      if (c >= 65 && c <= 90) bits |= 1 << i;
    }
    suffix += CHECKSUM_ALPHABET[bits];
  }
  return suffix;
}

/** 18-char id from prefix + sequence number (pod "5g" + "0" like real production ids). */
export function makeId(prefix: string, seq: number): string {
  let body = '';
  let n = seq;
  for (let i = 0; i < 9; i++) {
    body = BASE62[n % 62] + body;
    n = Math.floor(n / 62);
  }
  const id15 = `${prefix}5g0${body}`.slice(0, 15);
  return id15 + checksumSuffix(id15);
}

/** Normalise a 15- or 18-char id to 18 chars; undefined when it is not id-shaped. */
export function toId18(id: string): string | undefined {
  if (!/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id)) return undefined;
  const id15 = id.slice(0, 15);
  return id15 + checksumSuffix(id15);
}
