import { describe, expect, it } from "vitest";
import type { Fixture, Market } from "./api";
import { emptyQuotes, parseQuoteEvent, withEvent, withoutOldMoves, withSnapshot, MOVE_MARK_MS } from "./quotes";

const fx: Fixture = { id: "BA-001", sport: "football", competition: "L1", home: "A", away: "B", kickoff: "2026-11-28T15:00:00Z", status: "live", version: 1 };
const mk = (version: number, home: number, status: Market["status"] = "open"): Market => ({
  fixture: "BA-001", sport: "football", status, version, prices: { "1x2": { home, draw: 3000, away: 3500 } },
});
const pub = (version: number, home: number) =>
  parseQuoteEvent("published", JSON.stringify({ id: version, type: "published", fixture: "BA-001", version, status: "open", prices: { "1x2": { home, draw: 3000, away: 3500 } } }))!;

describe("quotes state", () => {
  it("marks a moved price and drops the mark after a few seconds", () => {
    let s = withSnapshot(emptyQuotes, [fx], [mk(5, 2000)], 0);
    s = withEvent(s, pub(6, 2200), 1000);
    expect(s.markets["BA-001"].version).toBe(6);
    expect(s.moves["BA-001"].dirs).toEqual({ home: 1, draw: 0, away: 0 });
    expect(withoutOldMoves(s, 1000 + MOVE_MARK_MS - 1).moves["BA-001"]).toBeDefined();
    expect(withoutOldMoves(s, 1000 + MOVE_MARK_MS).moves["BA-001"]).toBeUndefined();
  });
  it("ignores publications not newer than the snapshot, keeps early events for after it", () => {
    let s = withEvent(emptyQuotes, pub(6, 1800), 0);
    expect(s.early).toHaveLength(1);
    s = withSnapshot(s, [fx], [mk(6, 1800)], 0);
    expect(s.moves).toEqual({});
    s = withEvent(s, pub(5, 2500), 0);
    expect(s.markets["BA-001"].prices!["1x2"]).toEqual({ home: 1800, draw: 3000, away: 3500 });
  });
  it("shows a suspension (not hidden) and reopens with the next publication", () => {
    let s = withSnapshot(emptyQuotes, [fx], [mk(5, 2000)], 0);
    s = withEvent(s, parseQuoteEvent("suspended", JSON.stringify({ id: 9, type: "suspended", fixture: "BA-001", version: 5, reason: "goal", status: "suspended" }))!, 0);
    expect(s.markets["BA-001"].status).toBe("suspended");
    expect(s.markets["BA-001"].prices).toBeDefined();
    s = withEvent(s, pub(6, 1500), 0);
    expect(s.markets["BA-001"].status).toBe("open");
    expect(s.moves["BA-001"].dirs.home).toBe(-1);
  });
  it("refuses malformed events", () => {
    expect(parseQuoteEvent("published", "{not json")).toBeUndefined();
    expect(parseQuoteEvent("published", JSON.stringify({ fixture: 3, version: 1 }))).toBeUndefined();
    expect(parseQuoteEvent("message", JSON.stringify({ fixture: "x", version: 1 }))).toBeUndefined();
  });
});
