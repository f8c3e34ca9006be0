// How a market's prices are laid out for the fixture page: each market is a titled table of
// (selection label, milli-odds). Football's markets have names in the catalogue; another
// sport's (or a new) market falls back to its key.
import type { Fixture, Prices } from "./api";
import { formatLine } from "./format";
import type { Lang, MessageKey, Vars } from "./i18n";

export interface Row {
  id: string;
  label: string;
  milli: number;
  // What a bet on this row names (POST /v1/bets legs).
  market: string;
  line?: string;
  outcome: string;
}
export interface Table {
  key: string;
  title: string;
  rows: Row[];
}

type T = (key: MessageKey, vars?: Vars) => string;

const TITLES: Record<string, MessageKey> = {
  "1x2": "market.1x2",
  double_chance: "market.double_chance",
  draw_no_bet: "market.draw_no_bet",
  total_goals: "market.total_goals",
  home_goals: "market.home_goals",
  away_goals: "market.away_goals",
  btts: "market.btts",
  correct_score: "market.correct_score",
  winning_margin: "market.winning_margin",
  asian_handicap: "market.asian_handicap",
  next_goal: "market.next_goal",
};
const ORDER = Object.keys(TITLES);

type Teams = Pick<Fixture, "home" | "away">;

function selection(sel: string, f: Teams, t: T): string {
  const names = { home: f.home, away: f.away };
  const simple: Record<string, MessageKey> = {
    home: "sel.home", away: "sel.away", draw: "sel.draw", none: "sel.none", yes: "sel.yes", no: "sel.no",
    home_draw: "sel.home_draw", draw_away: "sel.draw_away", home_away: "sel.home_away", other: "sel.other",
  };
  if (simple[sel]) return t(simple[sel], names);
  const margin = /^(home|away)_(\d+\+?)$/.exec(sel);
  if (margin) return t(margin[1] === "home" ? "sel.margin.home" : "sel.margin.away", { ...names, n: margin[2] });
  return sel;
}

export function marketTitle(key: string, f: Teams, t: T): string {
  return TITLES[key] ? t(TITLES[key], { team: key === "away_goals" ? f.away : f.home }) : key;
}

// The label of one selection: @line is the key of a line market's entry ("2.5"), @outcome the
// selection (or the side of a line).
export function selectionLabel(key: string, line: string | undefined, outcome: string, f: Teams, t: T, lang: Lang): string {
  if (line === undefined) return selection(outcome, f, t);
  if (outcome === "over" || outcome === "under") return t(outcome === "over" ? "sel.over" : "sel.under", { line: formatLine(line, lang, false) });
  if (key === "asian_handicap" && (outcome === "home" || outcome === "away")) {
    // The line is the home side's handicap; the away side takes the opposite.
    const l = outcome === "home" ? line : String(-Number(line));
    return t("sel.handicap", { team: outcome === "home" ? f.home : f.away, line: formatLine(l, lang, true) });
  }
  return `${selection(outcome, f, t)} ${formatLine(line, lang, false)}`;
}

export function marketTables(prices: Prices, f: Fixture, t: T, lang: Lang): Table[] {
  const keys = Object.keys(prices).sort((a, b) => {
    const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return keys.map((key) => {
    const title = marketTitle(key, f, t);
    const rows: Row[] = [];
    const lines = Object.entries(prices[key]).sort(([a], [b]) => Number(a) - Number(b) || a.localeCompare(b));
    for (const [sel, v] of lines) {
      if (typeof v === "number") {
        rows.push({ id: `${key}.${sel}`, label: selectionLabel(key, undefined, sel, f, t, lang), milli: v, market: key, outcome: sel });
        continue;
      }
      // A line: totals (over/under) or a handicap.
      for (const [side, milli] of Object.entries(v))
        rows.push({ id: `${key}.${sel}.${side}`, label: selectionLabel(key, sel, side, f, t, lang), milli, market: key, line: sel, outcome: side });
    }
    return { key, title, rows };
  });
}
