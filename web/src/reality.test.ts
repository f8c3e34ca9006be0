import { describe, expect, it } from "vitest";
import type { Bet } from "./bets";
import { hoursMinutes, realityFigures, reminderDue } from "./reality";

const T0 = Date.parse("2026-12-05T10:00:00Z");
function bet(id: string, at: number, stake: number, status: string, ret?: number): Bet {
  return { id, status, kind: "single", stake, odds: 2000, payout: stake * 2, policy: "none", legs: [], placed_at: new Date(at).toISOString(), return: ret };
}

describe("reality information: the net result", () => {
  const bets = [
    bet("a", T0 + 60_000, 1000, "settled", 2500), // won 25 € for 10 €
    bet("b", T0 + 120_000, 500, "settled", 0), // lost
    bet("c", T0 + 180_000, 300, "accepted"), // open: its stake is out
    bet("d", T0 + 240_000, 700, "rejected"), // refused: never played
    bet("e", T0 + 300_000, 200, "settled", 200), // void: refunded
    bet("f", T0 - 60_000, 4000, "settled", 0), // before the session
  ];
  it("counts the stakes and returns of the bets placed since sign-in, refused ones left out", () => {
    expect(realityFigures(bets, T0)).toEqual({ bets: 4, stakes: 2000, returns: 2700, net: 700, open: 1 });
  });
  it("includes earlier bets over a longer period", () => {
    expect(realityFigures(bets, T0 - 7 * 24 * 3600_000)).toEqual({ bets: 5, stakes: 6000, returns: 2700, net: -3300, open: 1 });
  });
  it("counts a bet listed twice (open then settled between two pages) once", () => {
    expect(realityFigures([...bets, bets[0]], T0).stakes).toBe(2000);
  });
  it("takes the settled record of a bet read open first and settled after", () => {
    const open = bet("g", T0 + 360_000, 500, "accepted");
    const done = bet("g", T0 + 360_000, 500, "settled", 900);
    expect(realityFigures([open, done], T0)).toEqual({ bets: 1, stakes: 500, returns: 900, net: 400, open: 0 });
    expect(realityFigures([done, open], T0)).toEqual({ bets: 1, stakes: 500, returns: 900, net: 400, open: 0 });
  });
  it("counts a bet placed in the second of sign-in (placed_at has whole seconds)", () => {
    const at = T0 + 5_000;
    const b = { ...bet("h", at, 400, "accepted"), placed_at: new Date(at).toISOString().replace(/\.\d+Z$/, "Z") };
    expect(realityFigures([b], at + 300).bets).toBe(1);
    expect(realityFigures([b], at + 1_000).bets).toBe(0);
  });
  it("is zero with no bet", () => {
    expect(realityFigures([], T0)).toEqual({ bets: 0, stakes: 0, returns: 0, net: 0, open: 0 });
  });
});

describe("reality information: the time played", () => {
  it("floors to whole minutes and splits hours", () => {
    expect(hoursMinutes(59_999)).toEqual({ h: 0, m: 0 });
    expect(hoursMinutes(65 * 60_000 + 30_000)).toEqual({ h: 1, m: 5 });
    expect(hoursMinutes(-5)).toEqual({ h: 0, m: 0 });
  });
  it("reminds once at each new whole hour", () => {
    expect(reminderDue(59 * 60_000, 0)).toBeNull();
    expect(reminderDue(60 * 60_000, 0)).toBe(1);
    expect(reminderDue(90 * 60_000, 1)).toBeNull();
    expect(reminderDue(121 * 60_000, 1)).toBe(2);
  });
});
