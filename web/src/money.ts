// Money travels as integer cents. What the player types is parsed as a string into cents
// (never through a floating-point number), and cents are written back with Intl from the
// euro and cent parts separately.
import type { Lang } from "./i18n";

// The largest amount the site accepts from a form: 1,000,000.00 EUR.
export const MAX_CENTS = 100_000_000;

// "50", "50,00", "50.5", "1 234,56", "1234.56 €" -> cents; anything else (more than two
// decimals, signs, letters, empty, zero, over MAX_CENTS) -> null.
export function parseEuros(input: string): number | null {
  let s = input.trim().replace(/\s*(€|EUR)$/i, "");
  s = s.replace(/[\s\u00a0\u202f]/g, "");
  const m = /^(\d{1,7})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const euros = Number.parseInt(m[1], 10);
  const frac = m[2] === undefined ? 0 : Number.parseInt(m[2].padEnd(2, "0"), 10);
  const cents = euros * 100 + frac;
  if (cents <= 0 || cents > MAX_CENTS) return null;
  return cents;
}

const locales: Record<Lang, string> = { fr: "fr-FR", en: "en-GB" };

// 5000 -> "50,00 €" (fr) / "€50.00" (en); negative amounts keep their sign.
export function formatCents(cents: number, lang: Lang): string {
  if (!Number.isSafeInteger(cents)) return "—";
  const neg = cents < 0;
  const abs = Math.abs(cents);
  const euros = Math.floor(abs / 100);
  const rest = abs % 100;
  // Intl formats the integer euros; the two cent digits are put in by hand in the locale's
  // decimal separator, so no fraction is ever computed in floating point.
  const parts = new Intl.NumberFormat(locales[lang], { style: "currency", currency: "EUR", minimumFractionDigits: 2 }).formatToParts(euros);
  const text = parts
    .map((p) => (p.type === "fraction" ? String(rest).padStart(2, "0") : p.value))
    .join("");
  return neg ? `-${text}` : text;
}

// Cents as the player would type them back into a form: 5000 -> "50,00" (fr), "50.00" (en).
export function centsToInput(cents: number, lang: Lang): string {
  const sep = lang === "fr" ? "," : ".";
  return `${Math.floor(cents / 100)}${sep}${String(cents % 100).padStart(2, "0")}`;
}
