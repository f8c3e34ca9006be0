// What the pages know of fixtures and their markets: a snapshot (GET) then the quote stream's
// events. Pure functions, so that the merge rules are tested without a browser.
import type { Fixture, Market, Prices } from "./api";
import { direction } from "./format";

export interface QuoteEvent {
  type: "published" | "suspended" | "closed";
  id?: number;
  fixture: string;
  sport?: string;
  version: number;
  status?: Market["status"];
  reason?: string;
  prices?: Prices;
}

// A moved price: which way each selection of a market moved, and when (ms).
export interface Move {
  at: number;
  dirs: Record<string, -1 | 0 | 1>;
}

export interface QuotesState {
  fixtures: Record<string, Fixture>;
  markets: Record<string, Market>;
  moves: Record<string, Move>;
  // Events that came before the snapshot (the stream is opened first, so nothing is missed).
  early: QuoteEvent[];
  loaded: boolean;
}

export const emptyQuotes: QuotesState = { fixtures: {}, markets: {}, moves: {}, early: [], loaded: false };

export const MOVE_MARK_MS = 4000;

export function parseQuoteEvent(name: string, data: string): QuoteEvent | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const type = (typeof o.type === "string" ? o.type : name) as QuoteEvent["type"];
  if (!["published", "suspended", "closed"].includes(type)) return undefined;
  if (typeof o.fixture !== "string" || typeof o.version !== "number") return undefined;
  return {
    type,
    id: typeof o.id === "number" ? o.id : undefined,
    fixture: o.fixture,
    sport: typeof o.sport === "string" ? o.sport : undefined,
    version: o.version,
    status: typeof o.status === "string" ? (o.status as Market["status"]) : undefined,
    reason: typeof o.reason === "string" ? o.reason : undefined,
    prices: o.prices && typeof o.prices === "object" ? (o.prices as Prices) : undefined,
  };
}

export function mainPrices(prices: Prices | null | undefined): Record<string, number> | undefined {
  const m = prices?.["1x2"];
  if (!m) return undefined;
  const out: Record<string, number> = {};
  for (const k of ["home", "draw", "away"]) if (typeof m[k] === "number") out[k] = m[k] as number;
  return out;
}

export function withSnapshot(s: QuotesState, fixtures: Fixture[], markets: Market[], now: number): QuotesState {
  let next: QuotesState = {
    ...s,
    fixtures: Object.fromEntries(fixtures.map((f) => [f.id, f])),
    markets: Object.fromEntries(markets.map((m) => [m.fixture, m])),
    early: [],
    loaded: true,
  };
  for (const ev of s.early) next = withEvent(next, ev, now);
  return next;
}

export function withFixture(s: QuotesState, f: Fixture): QuotesState {
  return { ...s, fixtures: { ...s.fixtures, [f.id]: f } };
}

// Applies one stream event. A publication newer than what is known replaces the prices and
// marks each 1X2 price that moved; a suspension or close applies unless it is older than the
// prices known (a suspension carries the version of the prices it suspends).
export function withEvent(s: QuotesState, ev: QuoteEvent, now: number): QuotesState {
  if (!s.loaded) return { ...s, early: [...s.early, ev] };
  const cur = s.markets[ev.fixture];
  if (ev.type === "published") {
    if (cur && cur.version >= ev.version) return s;
    const before = mainPrices(cur?.prices);
    const after = mainPrices(ev.prices);
    const dirs: Move["dirs"] = {};
    let moved = false;
    for (const k of Object.keys(after ?? {})) {
      dirs[k] = direction(before?.[k], after?.[k]);
      if (dirs[k]) moved = true;
    }
    const market: Market = {
      ...(cur ?? { fixture: ev.fixture, sport: ev.sport ?? "" }),
      fixture: ev.fixture,
      sport: cur?.sport ?? ev.sport ?? "",
      status: "open",
      reason: undefined,
      version: ev.version,
      prices: ev.prices ?? null,
    };
    const moves = moved ? { ...s.moves, [ev.fixture]: { at: now, dirs } } : s.moves;
    return { ...s, markets: { ...s.markets, [ev.fixture]: market }, moves };
  }
  if (cur && cur.version > ev.version) return s;
  const status: Market["status"] = ev.type === "closed" ? "closed" : "suspended";
  const market: Market = {
    ...(cur ?? { fixture: ev.fixture, sport: ev.sport ?? "", version: ev.version }),
    status,
    reason: ev.reason,
    version: Math.max(cur?.version ?? 0, ev.version),
  };
  return { ...s, markets: { ...s.markets, [ev.fixture]: market } };
}

// Drops the up/down marks older than MOVE_MARK_MS.
export function withoutOldMoves(s: QuotesState, now: number): QuotesState {
  const keep = Object.entries(s.moves).filter(([, m]) => now - m.at < MOVE_MARK_MS);
  if (keep.length === Object.keys(s.moves).length) return s;
  return { ...s, moves: Object.fromEntries(keep) };
}
