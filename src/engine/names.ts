/**
 * Free-text name matching for "how did you hear about us" (PRODUCT.md F-ATTR: fuzzy, low
 * confidence, review only). Callers index referrers by `nameTokens(first last)` and look up the
 * tokens of the free text; the engine scores candidates with Jaro-Winkler on the full name against
 * the best window of the text.
 */

const STOP = new Set([
  'a',
  'an',
  'and',
  'the',
  'my',
  'me',
  'mr',
  'mrs',
  'ms',
  'dr',
  'by',
  'from',
  'via',
  'of',
  'at',
  'to',
  'friend',
  'friends',
  'colleague',
  'coworker',
  'co',
  'worker',
  'boss',
  'referred',
  'referral',
  'recommended',
  'recommendation',
  'told',
  'about',
  'you',
  'it',
  'heard',
  'through',
  'thanks',
  'thank',
  'in',
  'on',
  'is',
  'was',
  'our',
  'his',
  'her',
  'their',
  'partner',
  'customer',
]);

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

/** Lower-case, accents removed, letters only, stop words dropped, tokens of ≥ 2 letters. */
export function nameTokens(text: string | undefined): string[] {
  if (text === undefined) return [];
  // NFD + combining-mark removal only when needed: most names are ASCII.
  const ascii = isAscii(text) ? text : text.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
  const lower = ascii.toLowerCase();
  // The maximal runs of a–z are the tokens (what replacing [^a-z]+ by spaces and splitting gives),
  // sliced out in one scan: no regex pass and no intermediate strings per name.
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= lower.length; i++) {
    const c = i < lower.length ? lower.charCodeAt(i) : 0;
    if (c >= 97 && c <= 122) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 2) {
        const t = lower.slice(start, i);
        if (!STOP.has(t)) out.push(t);
      }
      start = -1;
    }
  }
  return out;
}

/**
 * Keys under which a referrer is indexed for free-text lookup. A two-or-more-token name is indexed
 * by (first token, 2-letter prefix of the last) and (2-letter prefix of the first, last token), so
 * a typo in one of the two names still finds it, while a lookup never returns everyone called
 * "John" (that made attribution quadratic on large accounts). A one-token name is indexed by it.
 */
export function nameIndexKeys(name: string | undefined): string[] {
  return nameKeysOfTokens(nameTokens(name));
}

/** `nameIndexKeys` of already tokenised name. */
export function nameKeysOfTokens(t: readonly string[]): string[] {
  if (t.length === 0) return [];
  if (t.length === 1) return [t[0]!];
  const first = t[0]!;
  const last = t[t.length - 1]!;
  return [`${first}|${last.slice(0, 2)}`, `${first.slice(0, 2)}|${last}`];
}

/** Keys to look up for the tokens of a free text (see `nameIndexKeys`). */
export function nameQueryKeys(tokens: readonly string[]): string[] {
  const keys = new Set<string>(tokens);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const a = tokens[i]!;
    const b = tokens[i + 1]!;
    keys.add(`${a}|${b.slice(0, 2)}`);
    keys.add(`${a.slice(0, 2)}|${b}`);
  }
  return [...keys];
}

const MATCHED_A = new Uint8Array(128);
const MATCHED_B = new Uint8Array(128);

/** Jaro-Winkler similarity in [0, 1]. */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const range = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  // Reused flag buffers (cleared per call): two allocations per comparison were most of the
  // fuzzy matching's garbage at 1M people.
  let ma = MATCHED_A;
  let mb = MATCHED_B;
  if (la > ma.length || lb > mb.length) {
    ma = new Uint8Array(la);
    mb = new Uint8Array(lb);
  } else {
    ma.fill(0, 0, la);
    mb.fill(0, 0, lb);
  }
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - range);
    const hi = Math.min(lb - 1, i + range);
    for (let j = lo; j <= hi; j++) {
      if (mb[j] === 0 && a.charCodeAt(i) === b.charCodeAt(j)) {
        ma[i] = 1;
        mb[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let k = 0;
  let transpositions = 0;
  for (let i = 0; i < la; i++) {
    if (ma[i] === 0) continue;
    while (mb[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const m = matches;
  const jaro = (m / la + m / lb + (m - transpositions / 2) / m) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * How well a person's name appears in free text: the best Jaro-Winkler between the name's tokens
 * joined and any window of as many consecutive text tokens. 0 when either side has no tokens.
 */
const tokenCache = new Map<string, string[]>();
/** Referrer names recur across many free texts: tokenise each once (bounded cache). */
function cachedNameTokens(name: string | undefined): string[] {
  if (name === undefined) return [];
  let t = tokenCache.get(name);
  if (t === undefined) {
    if (tokenCache.size >= 100_000) tokenCache.clear();
    tokenCache.set(name, (t = nameTokens(name)));
  }
  return t;
}

export function nameSimilarity(textTokens: readonly string[], name: string | undefined): number {
  const nt = cachedNameTokens(name);
  if (nt.length === 0 || textTokens.length === 0) return 0;
  const target = nt.join(' ');
  const w = Math.min(nt.length, textTokens.length);
  let best = 0;
  for (let i = 0; i + w <= textTokens.length; i++) {
    const s = jaroWinkler(textTokens.slice(i, i + w).join(' '), target);
    if (s > best) best = s;
  }
  // A single matching token (e.g. only a first name) is weak evidence: scale it down.
  return nt.length > w || w === 1 ? best * 0.85 : best;
}

/**
 * A free text prepared for scoring many candidate names (`nameSimilarity` for each, without
 * re-joining the text's windows per candidate). `similarity(nameTokens)` equals
 * `nameSimilarity(textTokens, name)` for `nameTokens = nameTokens(name)`.
 */
export class NameQuery {
  private readonly windows: (string[] | undefined)[] = [];

  constructor(readonly tokens: readonly string[]) {}

  private windowsOf(w: number): string[] {
    let list = this.windows[w];
    if (list === undefined) {
      list = [];
      for (let i = 0; i + w <= this.tokens.length; i++) list.push(this.tokens.slice(i, i + w).join(' '));
      this.windows[w] = list;
    }
    return list;
  }

  /** `target` is the name's tokens joined by one space; `count` how many tokens it has. */
  similarity(target: string, count: number): number {
    if (count === 0 || this.tokens.length === 0) return 0;
    const w = Math.min(count, this.tokens.length);
    let best = 0;
    for (const window of this.windowsOf(w)) {
      const s = jaroWinkler(window, target);
      if (s > best) best = s;
    }
    return count > w || w === 1 ? best * 0.85 : best;
  }
}
