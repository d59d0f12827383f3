// Auth.js answers a callbackUrl it cannot read as an http(s) URL or a path — in the query, or in its
// callback-url cookie, both written by the client — with a 500 ("a problem with the server
// configuration"). It is the client's input: refused here with a 400 before Auth.js sees it.
import { AppError, problemResponse } from "@/lib/errors";

const COOKIES = new Set(["authjs.callback-url", "__Secure-authjs.callback-url"]);

/** Auth.js's own test (assertConfig's isValidHttpUrl): an http(s) URL, or a path on this origin. */
function readable(url: string, origin: string): boolean {
  try {
    return /^https?:/.test(new URL(url, url.startsWith("/") ? origin : undefined).protocol);
  } catch {
    return false;
  }
}

function cookieValues(header: string | null): string[] {
  const out: string[] = [];
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i < 0 || !COOKIES.has(part.slice(0, i).trim())) continue;
    const raw = part.slice(i + 1).trim();
    try {
      out.push(decodeURIComponent(raw));
    } catch {
      out.push(raw);
    }
  }
  return out;
}

/** The handler, behind a check of the callback URLs the client sent. */
export function withValidCallbackUrl<R extends Request>(handler: (req: R) => Promise<Response>) {
  return async (req: R): Promise<Response> => {
    const url = new URL(req.url);
    const fromQuery = url.searchParams.getAll("callbackUrl").filter(Boolean);
    for (const value of [...fromQuery, ...cookieValues(req.headers.get("cookie"))])
      if (!readable(value, url.origin))
        return problemResponse(new AppError("bad-request", "callbackUrl must be an http(s) URL or a path."));
    return handler(req);
  };
}
