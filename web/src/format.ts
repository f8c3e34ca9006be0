// Prices travel as integer milli-odds (decimal odds x 1000, as the nodes agree on them).
import type { Lang } from "./i18n";

const locales: Record<Lang, string> = { fr: "fr-FR", en: "en-GB" };

// Decimal odds with two decimals, in the language's notation: 2140 -> "2,14" (fr), "2.14" (en).
// Odds of 100 and more keep no decimals. Anything that is not a price >= 1.0 gives "—".
export function formatPrice(milli: number | null | undefined, lang: Lang): string {
  if (typeof milli !== "number" || !Number.isInteger(milli) || milli < 1000) return "—";
  const odds = milli / 1000;
  const digits = odds >= 100 ? 0 : 2;
  return new Intl.NumberFormat(locales[lang], {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  }).format(odds);
}

// A signed handicap or a line as written on a coupon: "0.50" -> "+0,5", "-1.25" -> "-1,25".
export function formatLine(line: string, lang: Lang, signed: boolean): string {
  const v = Number(line);
  if (!Number.isFinite(v)) return line;
  const text = new Intl.NumberFormat(locales[lang], { maximumFractionDigits: 2 }).format(Math.abs(v));
  if (!signed || v === 0) return v < 0 ? `-${text}` : text;
  return (v > 0 ? "+" : "-") + text;
}

export function formatKickoff(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locales[lang], {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Europe/Paris",
  }).format(d);
}

// Which way a price moved: 1 up, -1 down, 0 the same or unknown.
export function direction(before: number | undefined, after: number | undefined): -1 | 0 | 1 {
  if (typeof before !== "number" || typeof after !== "number" || before === after) return 0;
  return after > before ? 1 : -1;
}
