import { describe, expect, it } from "vitest";
import type { Bet } from "./bets";
import { isDone, isOpen, mergeBets, openBetStream, parseBetEvent } from "./betStream";

const bet = (id: string, status: string, placed = "2026-12-04T15:00:00Z", extra: Partial<Bet> = {}): Bet => ({
  id,
  status,
  kind: "single",
  stake: 200,
  odds: 2140,
  payout: 428,
  policy: "better",
  placed_at: placed,
  legs: [{ fixture: "BA-001", market: "1x2", outcome: "home", price: 2140, price_seen: 2140, version: 3 }],
  ...extra,
});
const ev = (id: number, type: string, b: Bet) => `id: ${id}\nevent: bet\ndata: ${JSON.stringify({ id, type, bet_id: b.id, player_id: "p1", status: b.status, at: "x", bet: b })}\n\n`;

describe("bet events", () => {
  it("keeps only events naming a bet with its record", () => {
    expect(parseBetEvent("not json")).toBeUndefined();
    expect(parseBetEvent("{}")).toBeUndefined();
    expect(parseBetEvent(JSON.stringify({ type: "placed", bet_id: "b1" }))).toBeUndefined();
    expect(parseBetEvent(JSON.stringify({ type: "placed", bet_id: "b1", bet: bet("b2", "pending") }))).toBeUndefined();
    expect(parseBetEvent(JSON.stringify({ type: "accepted", bet_id: "b1", bet: bet("b1", "accepted") }))?.bet?.status).toBe("accepted");
  });
  it("moves a bet from the open list to the settled one as it changes, newest first", () => {
    const open = [bet("b2", "accepted", "2026-12-04T15:02:00Z"), bet("b1", "pending", "2026-12-04T15:01:00Z")];
    const b1ok = bet("b1", "accepted", "2026-12-04T15:01:00Z");
    expect(mergeBets(open, [b1ok], isOpen).map((b) => [b.id, b.status])).toEqual([["b2", "accepted"], ["b1", "accepted"]]);
    const b3 = bet("b3", "pending", "2026-12-04T15:03:00Z");
    expect(mergeBets(open, [b3], isOpen).map((b) => b.id)).toEqual(["b3", "b2", "b1"]);
    const b2won = bet("b2", "settled", "2026-12-04T15:02:00Z", { result: "won", return: 428 });
    const b1no = bet("b1", "rejected", "2026-12-04T15:01:00Z", { reject_code: "price_moved" });
    expect(mergeBets(open, [b2won, b1no], isOpen)).toEqual([]);
    expect(mergeBets([], [b2won, b1no], isDone).map((b) => [b.id, b.status])).toEqual([["b2", "settled"], ["b1", "rejected"]]);
  });
  it("never lets an older record replace a newer one", () => {
    const settled = bet("b1", "settled", undefined, { updated_at: "2026-12-04T15:05:00Z" });
    const stale = bet("b1", "accepted", undefined, { updated_at: "2026-12-04T15:04:00Z" });
    expect(mergeBets([settled], [stale], isDone)[0].status).toBe("settled");
    // Without updated_at, the status order decides.
    expect(mergeBets([bet("b1", "accepted")], [bet("b1", "pending")], isOpen)[0].status).toBe("accepted");
  });
});

describe("openBetStream", () => {
  it("sends the bearer token, delivers every change, resumes with Last-Event-ID after a drop", async () => {
    const b = bet("b1", "pending");
    const script = [
      [ev(11, "placed", b), ev(12, "held", { ...b, status: "pending" })],
      null, // a refused connection
      [ev(13, "accepted", { ...b, status: "accepted" })],
      [ev(14, "settled", { ...b, status: "settled", result: "won", return: 428 })],
    ];
    const seen: { auth?: string; last?: string; url: string }[] = [];
    let n = 0;
    let tok = "t1";
    const fetchImpl = (async (url: string, init?: RequestInit) => {
      const h = (init?.headers ?? {}) as Record<string, string>;
      seen.push({ url, auth: h.Authorization, last: h["Last-Event-ID"] });
      const step = n < script.length ? script[n++] : []; // then connections with nothing new
      if (!step) throw new TypeError("refused");
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const s of step) c.enqueue(enc.encode(s));
          c.close();
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/event-stream" } });
    }) as typeof fetch;
    const got: [string, string][] = [];
    const h = openBetStream({
      sport: "football",
      token: () => tok,
      fetchImpl,
      minDelayMs: 1,
      onBet: (x, e) => {
        got.push([e.type, x.status]);
        tok = "t2"; // renewed: the next connection carries the new one
      },
    });
    const end = Date.now() + 2000;
    while (got.length < 4) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 5));
    }
    h.close();
    expect(got).toEqual([
      ["placed", "pending"],
      ["held", "pending"],
      ["accepted", "accepted"],
      ["settled", "settled"],
    ]);
    expect(seen[0]).toEqual({ url: "/api/football/v1/stream/bets", auth: "Bearer t1", last: undefined });
    expect(seen.slice(1, 4).map((s) => [s.auth, s.last])).toEqual([
      ["Bearer t2", "12"],
      ["Bearer t2", "12"],
      ["Bearer t2", "13"],
    ]);
  });
});
