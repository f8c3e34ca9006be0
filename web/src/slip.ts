// The bet slip: the legs the player picked (one per fixture, at most MAX_LEGS), the stake and
// the odds-change policy, and its arithmetic. Everything is integers, computed as the sport
// cluster does (consensus/bets.c): the accumulator's odds are the legs' milli-odds multiplied
// one after the other, floored to the milli at each step; the payout is stake (cents) x odds /
// 1000, floored to the cent. BigInt keeps every product exact.
import { useSyncExternalStore } from "react";

export const MAX_LEGS = 10; // BET_LEGS_MAX (consensus/bets.h)

export interface Leg {
  sport: string;
  fixture: string;
  home: string;
  away: string;
  market: string; // "1x2", "total_goals", ...
  line?: string; // the key of a line market, as the prices carry it ("2.5", "-0.25")
  outcome: string;
  price: number; // milli-odds seen when picked
  version: number; // the quote version the price came from
}

export type Policy = "exact" | "better" | "any_within";
export const POLICIES: Policy[] = ["exact", "better", "any_within"];
// The tolerances offered with "any_within", in milli-odds.
export const TOLERANCES = [50, 100, 250];
export type Mode = "single" | "accumulator";

export const sameSelection = (a: Leg, b: Leg) =>
  a.fixture === b.fixture && a.market === b.market && (a.line ?? "") === (b.line ?? "") && a.outcome === b.outcome;

export type PickResult = "added" | "replaced" | "removed" | "full";

// Picking a price: the same selection again takes it off; another selection of a fixture
// already on the slip replaces that leg (one leg per fixture); an eleventh fixture is refused.
export function pick(legs: Leg[], leg: Leg): { legs: Leg[]; result: PickResult } {
  if (legs.some((l) => sameSelection(l, leg))) return { legs: legs.filter((l) => !sameSelection(l, leg)), result: "removed" };
  const i = legs.findIndex((l) => l.fixture === leg.fixture);
  if (i >= 0) return { legs: legs.map((l, j) => (j === i ? leg : l)), result: "replaced" };
  if (legs.length >= MAX_LEGS) return { legs, result: "full" };
  return { legs: [...legs, leg], result: "added" };
}

// The accumulator's milli-odds: 1000, then x price / 1000 floored, leg after leg.
export function combinedOdds(prices: number[]): number {
  let odds = 1000n;
  for (const p of prices) odds = (odds * BigInt(p)) / 1000n;
  return Number(odds);
}

// What a bet of @stake cents at @odds milli-odds returns if it wins, in cents (floored).
export function payout(stake: number, odds: number): number {
  return Number((BigInt(stake) * BigInt(odds)) / 1000n);
}

// The slip's totals: singles are one bet per leg with the stake each; an accumulator is one bet.
export function totals(legs: Leg[], mode: Mode, stake: number | null): { bets: number; stake: number; payout: number; odds?: number } | null {
  if (!legs.length || stake === null) return null;
  if (mode === "accumulator") {
    const odds = combinedOdds(legs.map((l) => l.price));
    return { bets: 1, stake, payout: payout(stake, odds), odds };
  }
  return { bets: legs.length, stake: stake * legs.length, payout: legs.reduce((s, l) => s + payout(stake, l.price), 0) };
}

// The POST /v1/bets body of one bet.
export function betBody(legs: Leg[], stake: number, policy: Policy, tolerance: number) {
  return {
    stake,
    policy,
    ...(policy === "any_within" ? { tolerance } : {}),
    legs: legs.map((l) => ({
      fixture: l.fixture,
      market: l.market,
      ...(l.line !== undefined ? { line: l.line } : {}),
      outcome: l.outcome,
      price: l.price,
      version: l.version,
    })),
  };
}

// A price_changed refusal names each moved leg ({leg, price, current, version}): the slip
// takes the new prices when the player accepts them.
export interface Changed {
  leg: number;
  price: number;
  current: number;
  version: number;
}
export function withNewPrices(legs: Leg[], sent: Leg[], changed: Changed[]): Leg[] {
  return legs.map((l) => {
    const c = changed.find((x) => sent[x.leg] && sameSelection(sent[x.leg], l));
    return c ? { ...l, price: c.current, version: c.version } : l;
  });
}

export function parseChanged(data: Record<string, unknown> | undefined): Changed[] {
  const legs = data?.legs;
  if (!Array.isArray(legs)) return [];
  return legs.filter(
    (x): x is Changed =>
      !!x && typeof x === "object" && ["leg", "price", "current", "version"].every((k) => Number.isInteger((x as Record<string, unknown>)[k])),
  );
}

// ---- the slip's state, shared by the pages that add legs and the slip itself ----

export interface SlipState {
  legs: Leg[];
  mode: Mode;
  open: boolean; // the panel is expanded
  last?: { leg: Leg; result: PickResult }; // for the polite announcement
}

let state: SlipState = { legs: [], mode: "single", open: false };
const listeners = new Set<() => void>();

function set(next: SlipState) {
  state = next;
  listeners.forEach((l) => l());
}

export const slip = {
  get: () => state,
  pick(leg: Leg) {
    const r = pick(state.legs, leg);
    // Two legs or more start as an accumulator, back to singles with one leg.
    const mode: Mode = r.legs.length < 2 ? "single" : state.legs.length < 2 ? "accumulator" : state.mode;
    set({ ...state, legs: r.legs, mode, last: { leg, result: r.result } });
    return r.result;
  },
  remove(leg: Leg) {
    const legs = state.legs.filter((l) => !sameSelection(l, leg));
    set({ ...state, legs, mode: legs.length < 2 ? "single" : state.mode, last: undefined });
  },
  clear: () => set({ ...state, legs: [], mode: "single", last: undefined }),
  setMode: (mode: Mode) => set({ ...state, mode }),
  setOpen: (open: boolean) => set({ ...state, open }),
  replace: (legs: Leg[]) => set({ ...state, legs }),
};

export function useSlip(): SlipState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}
