// English text for message keys, for machine clients (the REST API answers in English).
import en from "@/lib/i18n/messages/en.json";

export function englishMessage(keyOrText: string): string {
  if (!/^[a-z][A-Za-z]*(\.[A-Za-z_]+)+$/.test(keyOrText)) return keyOrText;
  const v = keyOrText
    .split(".")
    .reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), en);
  return typeof v === "string" ? v : keyOrText;
}
