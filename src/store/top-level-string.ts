/**
 * One top-level string of a cached record, read from its JSON without parsing the whole record.
 *
 * Why: the compute's referrer pass needs only a person's email to know whether the engine can use
 * that person at all, and most people it cannot; `JSON.parse` of every person was most of that
 * pass's time. The scan walks the text up to the key (strings skipped with `indexOf`), tracking
 * depth, so a nested `"email"` (an admin-mapped field in `current`, say) is never taken for the
 * person's own. Whatever it cannot answer for certain it leaves to the caller (`null`: decode).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * The value of `key` in the top-level object `json`, exactly as `JSON.parse(json)[key]` gives it:
 * the string; `undefined` when the object has no such key; `null` when the answer is not a string
 * or not known cheaply (not an object, malformed, value not a string, the key appearing again
 * later in the text) — then the caller decodes the record.
 *
 * `json` is meant to be `JSON.stringify` output (no duplicate keys); the later-occurrence check
 * keeps even hand-written duplicates right unless a duplicate is spelled with escapes.
 */
export function topLevelString(json: string, key: string): string | null | undefined {
  const quoted = `"${key}"`;
  // Absent from the text and no escapes that could spell it: certainly absent (no scan needed).
  if (json.indexOf(quoted) === -1 && json.indexOf('\\') === -1) {
    return isObjectText(json) ? undefined : null;
  }
  const n = json.length;
  let i = skipSpace(json, 0);
  if (json.charCodeAt(i) !== 0x7b) return null;
  i++;
  let depth = 1;
  let expectKey = true;
  // The next backslash at or after a position, found once and reused while it lies ahead.
  let nextBackslash = -2;
  const hasBackslash = (from: number, to: number): boolean => {
    if (nextBackslash !== -1 && nextBackslash < from) nextBackslash = json.indexOf('\\', from);
    return nextBackslash !== -1 && nextBackslash < to;
  };
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(json, i);
      if (end === -1) return null;
      if (depth === 1 && expectKey) {
        const escaped = hasBackslash(i + 1, end);
        const raw = json.slice(i + 1, end);
        const name = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : raw;
        if (name === key) return valueAfterKey(json, end + 1, quoted, hasBackslash);
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return skipSpace(json, i + 1) === n ? undefined : null;
    } else if (depth === 1 && c === COMMA) expectKey = true;
    else if (depth === 1 && c === COLON) expectKey = false;
    i++;
  }
  return null;
}

/** The string value after a matched key (`at`: just past the key's closing quote). */
function valueAfterKey(
  json: string,
  at: number,
  quoted: string,
  hasBackslash: (from: number, to: number) => boolean,
): string | null {
  let i = skipSpace(json, at);
  if (json.charCodeAt(i) !== COLON) return null;
  i = skipSpace(json, i + 1);
  if (json.charCodeAt(i) !== QUOTE) return null;
  const end = stringEnd(json, i);
  if (end === -1) return null;
  // A later duplicate key would win in JSON.parse: leave any later occurrence to a full parse.
  if (json.indexOf(quoted, end + 1) !== -1) return null;
  // Escapes: decode just this literal (JSON.parse of a string literal is the exact decoding).
  return hasBackslash(i + 1, end) ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
}

/** The index of the quote closing the string literal opening at `start`, or -1. */
function stringEnd(json: string, start: number): number {
  let q = json.indexOf('"', start + 1);
  while (q !== -1) {
    let backslashes = 0;
    for (let k = q - 1; k > start && json.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q;
    q = json.indexOf('"', q + 1);
  }
  return -1;
}

/** JSON's four whitespace characters. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(json: string, i: number): number {
  while (isSpace(json.charCodeAt(i))) i++;
  return i;
}

/** Starts with `{` and ends with `}` (a JSON object when the text is JSON at all). */
function isObjectText(json: string): boolean {
  const start = skipSpace(json, 0);
  let end = json.length - 1;
  while (end > start && isSpace(json.charCodeAt(end))) end--;
  return json.charCodeAt(start) === 0x7b && json.charCodeAt(end) === 0x7d;
}
