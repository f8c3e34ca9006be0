// Formatting of the console's figures: the return-to-player meter (TRJ, capped at 85 % a year by
// the French rules), the oracle's results and the trader's changes. Pure functions, tested apart.
import { ct, type ConsoleKey, type ConsoleLang } from "./messages";

const locale = (lang: ConsoleLang) => (lang === "fr" ? "fr-FR" : "en-GB");

export function euros(lang: ConsoleLang, cents: number): string {
  return new Intl.NumberFormat(locale(lang), { style: "currency", currency: "EUR" }).format(cents / 100);
}

// A ratio (0.853) as a percentage with @digits decimals ("85,3 %" in French, "85.3%" in English).
export function percent(lang: ConsoleLang, ratio: number, digits = 1): string {
  return new Intl.NumberFormat(locale(lang), { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(ratio);
}

// GET /admin/v1/ledger/trj?year= (accounts cluster).
export interface Trj { year: number; stakes: number; payouts: number; trj: number; cap: number; over_cap: boolean }
export interface TrjView { year: number; stakes: string; payouts: string; ratio: string; cap: string; over: boolean; empty: boolean; verdict: string }

// The ratio is recomputed from the integer cents (the server's float is only a convenience), so
// the figure shown and the verdict agree with the stakes and payouts shown beside them.
export function trjView(lang: ConsoleLang, v: Trj): TrjView {
  const empty = v.stakes === 0;
  const ratio = empty ? 0 : v.payouts / v.stakes;
  const over = !empty && v.payouts * 1000 > v.stakes * Math.round(v.cap * 1000);
  const cap = percent(lang, v.cap, 0);
  return {
    year: v.year,
    stakes: euros(lang, v.stakes),
    payouts: euros(lang, v.payouts),
    ratio: empty ? "—" : percent(lang, ratio, 2),
    cap,
    over,
    empty,
    verdict: empty ? ct(lang, "c.ledger.noStakes") : ct(lang, over ? "c.ledger.overCap" : "c.ledger.underCap", { cap }),
  };
}

// A 32-byte transaction hash shortened for a table cell (the full hash stays in the title).
export function shortHash(h?: string): string {
  if (!h) return "—";
  return h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h;
}

// Wei (a decimal string, possibly "over N") to ether with 4 decimals, without losing digits.
export function ether(lang: ConsoleLang, wei: string): string {
  const m = /^(over )?(\d+)$/.exec(wei);
  if (!m) return wei;
  const digits = m[2].padStart(19, "0");
  const whole = BigInt(digits.slice(0, -18));
  const frac = digits.slice(-18, -14);
  const sep = lang === "fr" ? "," : ".";
  const w = new Intl.NumberFormat(locale(lang)).format(whole);
  return `${m[1] ? "> " : ""}${w}${sep}${frac}`;
}

export const ORACLE_STATES = ["signed", "journaled", "sent", "mined", "confirmed", "already", "failed"] as const;
export type OracleState = (typeof ORACLE_STATES)[number];

export function oracleState(lang: ConsoleLang, s: string): string {
  return (ORACLE_STATES as readonly string[]).includes(s) ? ct(lang, `c.oracle.s.${s}` as ConsoleKey) : s;
}

// One result as the oracle records it: the agreed score ("4 – 2", or the status when the game
// was not played to its end).
export interface OracleResult { fixture: string; state: string; status?: string; home?: number; away?: number; tx_hash?: string; block?: number; reason?: string; updated_at?: string }
export function oracleScore(r: OracleResult): string {
  const score = r.home !== undefined && r.away !== undefined ? `${r.home} – ${r.away}` : "—";
  return r.status && r.status !== "final" ? `${score} (${r.status})` : score;
}

// A trader change's "set" object in words: "suspendu, marge 120 pb, mise max. 50,00 €".
export interface TraderSet { market?: string; margin_shift_bp?: number; lean?: { outcome: string; bp: number } | null; suspended?: boolean; max_stake?: number }
export function traderChange(lang: ConsoleLang, set: TraderSet): string {
  const t = (k: ConsoleKey, v?: Record<string, string | number>) => ct(lang, k, v);
  const bp = (n: number) => t("c.trader.bp", { n: new Intl.NumberFormat(locale(lang), { signDisplay: "exceptZero" }).format(n) });
  const parts: string[] = [];
  if (set.suspended !== undefined) parts.push(t(set.suspended ? "c.trader.set.suspended" : "c.trader.set.reopened"));
  if (set.margin_shift_bp !== undefined)
    parts.push(set.market ? t("c.trader.set.marketMargin", { market: set.market, bp: bp(set.margin_shift_bp) }) : t("c.trader.set.margin", { bp: bp(set.margin_shift_bp) }));
  if (set.lean)
    parts.push(set.lean.bp === 0 ? t("c.trader.set.noLean")
      : t("c.trader.set.lean", { outcome: t(`c.trader.${set.lean.outcome}` as ConsoleKey), bp: bp(set.lean.bp) }));
  if (set.max_stake !== undefined) parts.push(t("c.trader.set.maxStake", { amount: set.max_stake === 0 ? t("c.trader.noCap") : euros(lang, set.max_stake) }));
  return parts.join(", ");
}
