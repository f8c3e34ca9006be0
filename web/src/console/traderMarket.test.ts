import { describe, expect, it } from "vitest";
import { refusal } from "./messages";
import {
  NEUTRAL, buildMarketChange, capCents, capInput, lineQuarters, lineText, marketChange, marketHistory, marketRow, marketRule,
  marketsWithSettings, type MarketForm, type MarketsView,
} from "./traderMarket";

// Intl may put a narrow no-break space before "€": compare with plain spaces.
const plain = (s: string) => s.replace(/[\u202f\u00a0]/g, " ");

const form = (f: Partial<MarketForm>): MarketForm => ({ market: "total_goals", line: "0", leanOutcome: "over", leanBp: "0", cap: "0", state: "open", reason: "pluie", ...f });

describe("which fields a market takes", () => {
  it("moves the totals by whole goals and the handicap by quarters, within the server's bounds", () => {
    expect(marketRule("total_goals").line).toEqual({ stepQ: 4, maxQ: 12 });
    expect(marketRule("home_goals").line).toEqual({ stepQ: 4, maxQ: 8 });
    expect(marketRule("away_goals").line).toEqual({ stepQ: 4, maxQ: 8 });
    expect(marketRule("asian_handicap").line).toEqual({ stepQ: 1, maxQ: 8 });
    for (const m of ["1x2", "btts", "draw_no_bet", "correct_score", "double_chance", "next_goal", "winning_margin", "nope"]) expect(marketRule(m).line).toBeUndefined();
  });
  it("leans two-sided markets toward one of their own sides only", () => {
    expect(marketRule("total_goals").sides).toEqual(["over", "under"]);
    expect(marketRule("asian_handicap").sides).toEqual(["home", "away"]);
    expect(marketRule("draw_no_bet").sides).toEqual(["home", "away"]);
    expect(marketRule("btts").sides).toEqual(["yes", "no"]);
    for (const m of ["1x2", "double_chance", "correct_score", "winning_margin", "next_goal"]) expect(marketRule(m).sides).toBeUndefined();
  });
});

describe("euros to cents", () => {
  it("reads the amount as text, exactly to the cent", () => {
    expect(capCents("50")).toBe(5000);
    expect(capCents("0,29")).toBe(29);
    expect(capCents("0.29")).toBe(29);
    expect(capCents("1.1")).toBe(110);
    expect(capCents("19,99")).toBe(1999);
    expect(capCents("1 234,56 €")).toBe(123456);
    expect(capCents("1\u202f000,01")).toBe(100001);
    expect(capCents("0")).toBe(0);
    // Large amounts stay exact: no floating-point product to round.
    expect(capCents("999999999,99")).toBe(99_999_999_999);
    expect(capCents("1000000000")).toBe(100_000_000_000);
  });
  it("refuses what is not an amount", () => {
    for (const s of ["", "-5", "+5", "1,234", "1.2.3", "abc", "1e3", "5,", "1000000000,01", "0x10"]) expect(capCents(s), s).toBeNull();
  });
  it("writes cents back as the operator types them", () => {
    expect(capInput("fr", 5050)).toBe("50,50");
    expect(capInput("en", 5005)).toBe("50.05");
    expect(capInput("fr", 0)).toBe("0");
    expect(capCents(capInput("fr", 123456))).toBe(123456);
  });
});

describe("line moves", () => {
  it("reads goals as quarter goals", () => {
    expect(lineQuarters("1")).toBe(4);
    expect(lineQuarters("+1")).toBe(4);
    expect(lineQuarters("-3")).toBe(-12);
    expect(lineQuarters("0.25")).toBe(1);
    expect(lineQuarters("-0,75")).toBe(-3);
    expect(lineQuarters("1.50")).toBe(6);
    expect(lineQuarters("0")).toBe(0);
    for (const s of ["0.3", "0.125", "one", "", "1e1", "--1"]) expect(lineQuarters(s), s).toBeNull();
  });
  it("writes a move as signed goals", () => {
    expect(lineText("fr", 4)).toBe("+1");
    expect(lineText("fr", -1)).toBe("-0,25");
    expect(lineText("en", 6)).toBe("+1.5");
    expect(lineText("en", 0)).toBe("0");
  });
});

describe("the request body", () => {
  it("sends only what differs from the market's settings, with the reason trimmed", () => {
    expect(buildMarketChange(form({ line: "1", reason: "  forte pluie " }))).toEqual({
      ok: true, body: { market: "total_goals", line_move: 1, reason: "forte pluie" },
    });
    const cur = { line_move_q: 4, lean: null, max_stake: 0, suspended: false };
    expect(buildMarketChange(form({ line: "1", cap: "25,50" }), cur)).toEqual({
      ok: true, body: { market: "total_goals", max_stake: 2550, reason: "pluie" },
    });
    expect(buildMarketChange(form({ line: "0" }), cur)).toEqual({ ok: true, body: { market: "total_goals", line_move: 0, reason: "pluie" } });
  });
  it("moves the handicap by a quarter", () => {
    expect(buildMarketChange(form({ market: "asian_handicap", line: "-0.25", leanOutcome: "home" }))).toEqual({
      ok: true, body: { market: "asian_handicap", line_move: -0.25, reason: "pluie" },
    });
  });
  it("leans, changes the side, and takes the lean off with 0 bp", () => {
    expect(buildMarketChange(form({ leanOutcome: "under", leanBp: "120" }))).toMatchObject({ body: { lean: { outcome: "under", bp: 120 } } });
    const leaned = { ...NEUTRAL, lean: { outcome: "under", bp: 120 } };
    expect(buildMarketChange(form({ leanOutcome: "over", leanBp: "120" }), leaned)).toMatchObject({ body: { lean: { outcome: "over", bp: 120 } } });
    expect(buildMarketChange(form({ leanOutcome: "under", leanBp: "0" }), leaned)).toMatchObject({ body: { lean: { outcome: "under", bp: 0 } } });
    expect(buildMarketChange(form({ leanOutcome: "under", leanBp: "120" }), leaned)).toEqual({ ok: false, code: "nothing_to_set" });
  });
  it("leaves the bounds to the server (its refusal is translated)", () => {
    expect(buildMarketChange(form({ leanBp: "600" }))).toMatchObject({ ok: true, body: { lean: { outcome: "over", bp: 600 } } });
    expect(buildMarketChange(form({ line: "5" }))).toMatchObject({ ok: true, body: { line_move: 5 } });
  });
  it("suspends and reopens", () => {
    expect(buildMarketChange(form({ state: "suspended" }))).toEqual({ ok: true, body: { market: "total_goals", suspended: true, reason: "pluie" } });
    expect(buildMarketChange(form({ state: "open" }), { ...NEUTRAL, suspended: true })).toEqual({ ok: true, body: { market: "total_goals", suspended: false, reason: "pluie" } });
  });
  it("never sends a line or a lean a market does not take", () => {
    const b = buildMarketChange({ market: "1x2", line: "1", leanOutcome: "home", leanBp: "50", cap: "10", state: "open", reason: "r" });
    expect(b).toEqual({ ok: true, body: { market: "1x2", max_stake: 1000, reason: "r" } });
    expect(buildMarketChange({ market: "btts", line: "1", leanOutcome: "yes", leanBp: "0", cap: "0", state: "open", reason: "r" })).toEqual({ ok: false, code: "nothing_to_set" });
  });
  it("refuses what it cannot read, with the server's codes", () => {
    expect(buildMarketChange(form({ cap: "12,345" }))).toEqual({ ok: false, code: "invalid_max_stake" });
    expect(buildMarketChange(form({ line: "0.3" }))).toEqual({ ok: false, code: "line_move_out_of_bounds" });
    expect(buildMarketChange(form({ leanBp: "1.5" }))).toEqual({ ok: false, code: "lean_out_of_bounds" });
    expect(buildMarketChange(form({}))).toEqual({ ok: false, code: "nothing_to_set" });
  });
});

describe("the settings and the history in words", () => {
  const v: MarketsView = {
    markets: {
      correct_score: { line_move_q: 0, lean: null, max_stake: 0, suspended: true },
      total_goals: { line_move_q: 4, lean: { outcome: "over", bp: 50 }, max_stake: 2550, suspended: false },
    },
    changes: 3,
    history: [
      { n: 1, entry: 10, at: "2026-12-05T12:00:00Z", by: "op", reason: "pluie", market: "total_goals", set: { line_move_q: 4 } },
      { n: 2, entry: 11, at: "2026-12-05T12:01:00Z", by: "op", reason: "alerte", market: "correct_score", set: { suspended: true } },
      { n: 3, entry: 12, at: "2026-12-05T12:02:00Z", by: "op", reason: "vent", market: "total_goals", set: { lean: { outcome: "over", bp: 50 }, max_stake: 2550 } },
    ],
  };
  it("lists the markets with settings in the board's order, one row each", () => {
    expect(marketsWithSettings(v)).toEqual(["total_goals", "correct_score"]);
    expect(marketsWithSettings(undefined)).toEqual([]);
    const r = marketRow("fr", "total_goals", v.markets.total_goals);
    expect(r.name).toBe("Nombre de buts (total_goals)");
    expect(r.line).toBe("+1 but(s)");
    expect(r.lean).toBe("plus +50 pb");
    expect(plain(r.cap)).toBe("25,50 €");
    expect(r.state).toBe("ouvert");
    const cs = marketRow("en", "correct_score", v.markets.correct_score);
    expect([cs.line, cs.lean, cs.cap, cs.state, cs.suspended]).toEqual(["—", "none", "no cap", "suspended", true]);
  });
  it("keeps each market's own history, newest first", () => {
    expect(marketHistory(v, "total_goals").map((h) => h.n)).toEqual([3, 1]);
    expect(marketHistory(v, "correct_score").map((h) => h.n)).toEqual([2]);
    expect(marketHistory(v, "btts")).toEqual([]);
  });
  it("puts a change in words", () => {
    expect(marketChange("fr", { line_move_q: 4 })).toBe("ligne +1");
    expect(marketChange("en", { line_move_q: -1 })).toBe("line -0.25");
    expect(plain(marketChange("fr", { lean: { outcome: "under", bp: 120 }, max_stake: 2550, suspended: true }))).toBe("penchant moins +120 pb, mise max. 25,50 €, suspendu");
    expect(marketChange("en", { lean: { outcome: "yes", bp: 0 }, max_stake: 0, suspended: false })).toBe("no lean, max. stake no cap, reopened");
  });
  it("translates the per-market refusals, never showing the raw detail", () => {
    for (const c of ["line_move_out_of_bounds", "line_market", "lean_out_of_bounds", "lean_market", "unknown_market", "trader_scope", "reason_length", "nothing_to_set"])
      for (const lang of ["fr", "en"] as const) expect(refusal(lang, c, 422, "raw detail")).not.toContain("raw detail");
    expect(refusal("fr", "line_market", 422, "x")).toBe("Ce marché n'a pas de ligne à déplacer.");
    expect(refusal("en", "lean_market", 422, "x")).toMatch(/^This market has no two sides/);
  });
});
