// English text for message keys, for machine clients (the REST API answers in English).
import en from "@/lib/i18n/messages/en.json";

/** `values` fill the message's simple `{name}` placeholders (the validation.* keys use no other ICU forms). */
export function englishMessage(keyOrText: string, values?: Record<string, string | number>): string {
  if (!/^[a-z][A-Za-z]*(\.[A-Za-z_]+)+$/.test(keyOrText)) return keyOrText;
  const v = keyOrText
    .split(".")
    .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), en);
  if (typeof v !== "string") return keyOrText;
  return values ? v.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? String(values[name]) : m)) : v;
}
