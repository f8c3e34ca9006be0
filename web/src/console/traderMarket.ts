// Per-market trader controls (the same POST /admin/v1/fixtures/{id}/trader with `market` and any
// of line_move, lean, max_stake, suspended): which fields each football market allows, the form
// read into a request body (only what differs from the market's current settings), exact cents,
// and the settings and changes in words. Pure functions, tested apart (traderMarket.test.ts).
import { euros } from "./figures";
import { ct, type ConsoleKey, type ConsoleLang } from "./messages";

// A market a football node prices, as consensus/trader_market.c knows it: the line a trader may
// move (step and bound in quarter goals) and the two sides a lean may name.
export interface MarketRule { name: string; line?: { stepQ: number; maxQ: number }; sides?: readonly [string, string] }

export const FOOTBALL_MARKETS: readonly MarketRule[] = [
  { name: "1x2" },
  { name: "double_chance" },
  { name: "draw_no_bet", sides: ["home", "away"] },
  { name: "total_goals", line: { stepQ: 4, maxQ: 12 }, sides: ["over", "under"] },
  { name: "home_goals", line: { stepQ: 4, maxQ: 8 }, sides: ["over", "under"] },
  { name: "away_goals", line: { stepQ: 4, maxQ: 8 }, sides: ["over", "under"] },
  { name: "asian_handicap", line: { stepQ: 1, maxQ: 8 }, sides: ["home", "away"] },
  { name: "btts", sides: ["yes", "no"] },
  { name: "correct_score" },
  { name: "winning_margin" },
  { name: "next_goal" },
];

// The rule of @name; a market the console does not know takes no line and no lean (the server
// decides anyway).
export function marketRule(name: string): MarketRule {
  return FOOTBALL_MARKETS.find((m) => m.name === name) ?? { name };
}

// One market's settings as GET shows them under markets.markets.
export interface MarketSettings { line_move_q: number; lean: { outcome: string; bp: number } | null; max_stake: number; suspended: boolean }
export interface MarketSet { line_move_q?: number; lean?: { outcome: string; bp: number } | null; max_stake?: number; suspended?: boolean }
export interface MarketChange { n: number; entry: number; at: string; by: string; reason: string; market: string; set: MarketSet }
export interface MarketsView { markets: Record<string, MarketSettings>; changes: number; history: MarketChange[] }

export const NEUTRAL: MarketSettings = { line_move_q: 0, lean: null, max_stake: 0, suspended: false };

// The largest cap the server takes: 100,000,000,000 cents.
export const MAX_CAP_CENTS = 100_000_000_000;

// A cap typed in euros ("50", "50,5", "1 234,56", "0") to integer cents, read as text (never
// through a floating-point product); null for anything else (signs, letters, three decimals,
// empty, over the server's bound). 0 means no cap.
export function capCents(input: string): number | null {
  const s = input.trim().replace(/\s*(€|EUR)$/i, "").replace(/[\s\u00a0\u202f]/g, "");
  const m = /^(\d{1,10})(?:[.,](\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const cents = Number.parseInt(m[1], 10) * 100 + (m[2] === undefined ? 0 : Number.parseInt(m[2].padEnd(2, "0"), 10));
  return cents <= MAX_CAP_CENTS ? cents : null;
}

// Cents back as the operator would type them: 5050 -> "50,50" (fr), "50.50" (en); 0 -> "0".
export function capInput(lang: ConsoleLang, cents: number): string {
  if (cents === 0) return "0";
  return `${Math.floor(cents / 100)}${lang === "fr" ? "," : "."}${String(cents % 100).padStart(2, "0")}`;
}

// A line move typed in goals ("1", "+1", "-0,25") to quarter goals; null when it is not a
// number or not a whole number of quarters (the step and bound are the server's to check).
export function lineQuarters(input: string): number | null {
  const m = /^([+-]?)(\d{1,3})(?:[.,](\d{1,4}))?$/.exec(input.trim());
  if (!m) return null;
  const frac = (m[3] ?? "").padEnd(4, "0"); // ten-thousandths of a goal
  const tenThousandths = Number.parseInt(m[2], 10) * 10000 + Number.parseInt(frac, 10);
  if (tenThousandths % 2500 !== 0) return null;
  const q = tenThousandths / 2500;
  return m[1] === "-" ? -q : q;
}

// What the form holds (FormData's strings); fields the market does not take are absent.
export interface MarketForm { market: string; line?: string; leanOutcome?: string; leanBp?: string; cap: string; state: "open" | "suspended"; reason: string }

export type Built = { ok: true; body: Record<string, unknown> } | { ok: false; code: string };

// The request body for the change the form asks for against @cur (the market's settings now):
// only the fields that differ, so the history says what the trader changed. A field the form
// cannot read is refused here with the server's own code (translated the same way); the bounds
// are the server's to check (out of bounds: its refusal, translated).
export function buildMarketChange(f: MarketForm, cur: MarketSettings = NEUTRAL): Built {
  const rule = marketRule(f.market);
  const body: Record<string, unknown> = { market: f.market };
  if (rule.line && f.line !== undefined) {
    const q = lineQuarters(f.line === "" ? "0" : f.line);
    if (q === null) return { ok: false, code: "line_move_out_of_bounds" };
    if (q !== cur.line_move_q) body.line_move = q / 4; // quarters are exact in binary
  }
  if (rule.sides && f.leanBp !== undefined) {
    const text = f.leanBp.trim() === "" ? "0" : f.leanBp.trim();
    const bp = /^-?\d{1,6}$/.test(text) ? Number.parseInt(text, 10) : NaN;
    const outcome = f.leanOutcome ?? rule.sides[0];
    if (!Number.isInteger(bp)) return { ok: false, code: "lean_out_of_bounds" };
    const same = bp === 0 ? cur.lean === null || cur.lean.bp === 0 : cur.lean?.outcome === outcome && cur.lean.bp === bp;
    if (!same) body.lean = { outcome, bp };
  }
  const cap = capCents(f.cap === "" ? "0" : f.cap);
  if (cap === null) return { ok: false, code: "invalid_max_stake" };
  if (cap !== cur.max_stake) body.max_stake = cap;
  const suspended = f.state === "suspended";
  if (suspended !== cur.suspended) body.suspended = suspended;
  if (Object.keys(body).length === 1) return { ok: false, code: "nothing_to_set" };
  body.reason = f.reason.trim();
  return { ok: true, body };
}

const locale = (lang: ConsoleLang) => (lang === "fr" ? "fr-FR" : "en-GB");

// Quarter goals as a signed line move in goals: 4 -> "+1", -1 -> "-0,25" (fr), 0 -> "0".
export function lineText(lang: ConsoleLang, q: number): string {
  return new Intl.NumberFormat(locale(lang), { signDisplay: "exceptZero", maximumFractionDigits: 2 }).format(q / 4);
}

const signedBp = (lang: ConsoleLang, n: number) =>
  ct(lang, "c.trader.bp", { n: new Intl.NumberFormat(locale(lang), { signDisplay: "exceptZero" }).format(n) });

export function sideName(lang: ConsoleLang, side: string): string {
  return ["home", "away", "draw", "over", "under", "yes", "no"].includes(side) ? ct(lang, `c.trader.${side}` as ConsoleKey) : side;
}

export function marketName(lang: ConsoleLang, name: string): string {
  const known = FOOTBALL_MARKETS.some((m) => m.name === name);
  return known ? `${ct(lang, `c.mkt.${name}` as ConsoleKey)} (${name})` : name;
}

// One market's settings as the table's cells.
export interface MarketRow { market: string; name: string; line: string; lean: string; cap: string; state: string; suspended: boolean }
export function marketRow(lang: ConsoleLang, market: string, s: MarketSettings): MarketRow {
  const rule = marketRule(market);
  return {
    market,
    name: marketName(lang, market),
    line: rule.line ? ct(lang, "c.tm.goals", { n: lineText(lang, s.line_move_q ?? 0) }) : "—",
    lean: s.lean && s.lean.bp > 0 ? `${sideName(lang, s.lean.outcome)} ${signedBp(lang, s.lean.bp)}` : ct(lang, "c.trader.noLean"),
    cap: s.max_stake ? euros(lang, s.max_stake) : ct(lang, "c.trader.noCap"),
    state: ct(lang, s.suspended ? "c.tm.suspended" : "c.tm.open"),
    suspended: !!s.suspended,
  };
}

// A market change's "set" in words: "ligne +1 but, penchant plus +50 pb, suspendu".
export function marketChange(lang: ConsoleLang, set: MarketSet): string {
  const parts: string[] = [];
  if (set.line_move_q !== undefined) parts.push(ct(lang, "c.tm.set.line", { n: lineText(lang, set.line_move_q) }));
  if (set.lean !== undefined)
    parts.push(!set.lean || set.lean.bp === 0 ? ct(lang, "c.trader.set.noLean")
      : ct(lang, "c.trader.set.lean", { outcome: sideName(lang, set.lean.outcome), bp: signedBp(lang, set.lean.bp) }));
  if (set.max_stake !== undefined)
    parts.push(ct(lang, "c.trader.set.maxStake", { amount: set.max_stake === 0 ? ct(lang, "c.trader.noCap") : euros(lang, set.max_stake) }));
  if (set.suspended !== undefined) parts.push(ct(lang, set.suspended ? "c.trader.set.suspended" : "c.trader.set.reopened"));
  return parts.join(", ");
}

// The markets to show in the table (those with settings), in the console's order, then any other.
export function marketsWithSettings(v?: MarketsView): string[] {
  const names = Object.keys(v?.markets ?? {});
  const order = (n: string) => { const i = FOOTBALL_MARKETS.findIndex((m) => m.name === n); return i < 0 ? FOOTBALL_MARKETS.length : i; };
  return names.sort((a, b) => order(a) - order(b) || a.localeCompare(b));
}

// One market's own history, newest first.
export function marketHistory(v: MarketsView | undefined, market: string): MarketChange[] {
  return (v?.history ?? []).filter((h) => h.market === market).sort((a, b) => b.n - a.n);
}
