// Everything a provider says is untrusted text (SECURITY.md #44): an authorization server or API may
// echo the request it received — form body, Authorization header, query — inside an error code, a
// description, a JSON field or an HTML page. Every provider string Consentry stores, logs, shows or
// returns goes through a redactor built from the secrets sent in that request, before it is cut to
// length (a cut could split a secret and hide it from an exact match).
//
// Known secrets are found in every encoding they could come back in, and also as any run of at least
// WINDOW characters of such an encoding (an echo the provider truncated). Anything shaped like a token
// or a JWT is removed as well; UUIDs stay, they are the trace and correlation ids support people need.

export const REDACTED = "[redacted]";

/** A provider string → the same string without secrets. */
export type Redact = (text: string) => string;

/** The shortest run of a secret that counts as an echo of it: a 12-character prefix is redacted, 11 characters are text. */
const WINDOW = 12;
/** Shorter values are not searched for at all: they would match ordinary words. */
const MIN_SECRET = 4;

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){0,3}/g;
/** base64, base64url, hex and the separators tokens carry (Azure secrets have "~"); dots split, so host names stay whole */
const RUN = /[A-Za-z0-9+/=_~-]{24,}/g;
const UUID_SPLIT = /([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})/;

/** Random-looking: mixed case with digits (base64 of any kind), or a long hex run. Paths, cuids and words are neither. */
function looksLikeToken(s: string): boolean {
  if (s.length < 24 || !/\d/.test(s)) return false;
  if (/[A-Z]/.test(s) && /[a-z]/.test(s)) return true;
  return s.length >= 32 && /^[0-9A-Fa-f]+$/.test(s) && /[A-Fa-f]/.test(s);
}

function redactRun(run: string): string {
  if (!UUID_SPLIT.test(run)) return looksLikeToken(run) ? REDACTED : run;
  // odd indexes are the UUIDs themselves (the capturing group)
  return run
    .split(UUID_SPLIT)
    .map((part, i) => (i % 2 === 0 && looksLikeToken(part) ? REDACTED : part))
    .join("");
}

/** Removes JWTs and token-shaped runs (no known secrets needed): audit details, logs, anything from a provider. */
export function redactTokenShapes(text: string): string {
  if (text.length < 24) return text;
  return text.replace(JWT, REDACTED).replace(RUN, redactRun);
}

const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** The spellings a value can come back in: raw, URI- and form-encoded (either hex case), JSON- and HTML-escaped. */
function encodingsOf(s: string): string[] {
  const uri = encodeURIComponent(s);
  const form = new URLSearchParams([["v", s]]).toString().slice(2);
  const json = JSON.stringify(s).slice(1, -1);
  const jsonAscii = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const variants = [
    s,
    uri,
    lowerHex(uri),
    uri.replace(/%20/g, "+"),
    form,
    lowerHex(form),
    json,
    jsonAscii,
    json.replace(/\//g, "\\/"),
    s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!),
  ];
  return [...new Set(variants)];
}

type Index = { windows: Set<string>; short: string[] };

function indexSecrets(secrets: string[]): Index {
  const windows = new Set<string>();
  const short = new Set<string>();
  for (const secret of secrets) {
    for (const v of encodingsOf(secret)) {
      if (v.length < WINDOW) short.add(v);
      else for (let i = 0; i + WINDOW <= v.length; i++) windows.add(v.slice(i, i + WINDOW));
    }
  }
  return { windows, short: [...short] };
}

function redactKnown(text: string, { windows, short }: Index): string {
  const ranges: Array<[number, number]> = [];
  // every WINDOW-long piece of the text that is a piece of a secret: overlapping hits join into one run
  for (let i = 0; i + WINDOW <= text.length; i++) {
    if (!windows.has(text.slice(i, i + WINDOW))) continue;
    const last = ranges[ranges.length - 1];
    if (last && i <= last[1]) last[1] = i + WINDOW;
    else ranges.push([i, i + WINDOW]);
  }
  for (const s of short) {
    for (let at = text.indexOf(s); at >= 0; at = text.indexOf(s, at + 1)) ranges.push([at, at + s.length]);
  }
  if (!ranges.length) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (let i = 0; i < ranges.length;) {
    const [start] = ranges[i]!;
    let end = ranges[i++]![1];
    // overlapping or touching ranges become one marker
    while (i < ranges.length && ranges[i]![0] <= end) end = Math.max(end, ranges[i++]![1]);
    out += `${text.slice(pos, start)}${REDACTED}`;
    pos = end;
  }
  return out + text.slice(pos);
}

/**
 * A redactor for the answer to one request: `secrets` are the values that request carried (refresh
 * token, client secret, client assertion, code, PKCE verifier, access token or API key, the Basic
 * credentials, the OAuth state). `tokenShapes: false` keeps token-shaped text that is not one of them
 * (an API's own base64 ids, e.g. Webex's person and organization ids).
 */
export function createRedactor(
  secrets: ReadonlyArray<string | null | undefined>,
  { tokenShapes = true }: { tokenShapes?: boolean } = {},
): Redact {
  const values = [...new Set(secrets.filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET))];
  // built on first use: most requests succeed and never need it
  let index: Index | undefined;
  return (text) => {
    if (!text) return text;
    let out = text;
    if (values.length) out = redactKnown(out, (index ??= indexSecrets(values)));
    return tokenShapes ? redactTokenShapes(out) : out;
  };
}
