/** A same-site path to return to after sign-in; anything else (other hosts, "//x", "/\\x") becomes "/". */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== "string" || value.length > 512) return "/";
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || /[\u0000-\u001f\\]/.test(value))
    return "/";
  try {
    const u = new URL(value, "http://x.invalid");
    // Dot segments are resolved by the parser ("/..//evil.example" → "//evil.example"), and a layer that
    // decodes once more would turn "/%5Cevil" into "/\evil": check the result, raw and decoded.
    const decoded = decodeURIComponent(u.pathname);
    if (u.pathname.startsWith("//") || decoded.startsWith("//") || /[\u0000-\u001f\\]/.test(decoded)) return "/";
    return u.origin === "http://x.invalid" ? u.pathname + u.search + u.hash : "/";
  } catch {
    return "/";
  }
}
