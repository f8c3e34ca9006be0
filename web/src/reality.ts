// Reality information (responsible gambling, as the French rules ask): how long the player has
// been signed in in this session and the net result of the bets placed since (stakes against
// what they paid back), and the same over the last 7 days. Pure arithmetic on the player's own
// bets (GET /v1/bets), plus the loader.
import { listBets, type Bet } from "./bets";

export interface RealityFigures { bets: number; stakes: number; returns: number; net: number; open: number }

// Bets placed at or after @fromMs, refused ones left out (their stake never left): every stake
// counts as played; a settled bet adds what it paid back (a win, a void's refund, a cash-out).
// An open bet's stake is out of the balance until it settles, so it counts against the result.
export function realityFigures(bets: Bet[], fromMs: number): RealityFigures {
  const r: RealityFigures = { bets: 0, stakes: 0, returns: 0, net: 0, open: 0 };
  // A bet read open and then settled (it settled between the two lists) counts as settled.
  const last = new Map<string, Bet>();
  for (const b of bets) {
    const had = last.get(b.id);
    if (!had || (had.status !== "settled" && b.status === "settled")) last.set(b.id, b);
  }
  // placed_at has whole seconds: a bet placed in the second the period began counts.
  const from = Math.floor(fromMs / 1000) * 1000;
  for (const b of last.values()) {
    if (b.status === "rejected" || Date.parse(b.placed_at) < from) continue;
    r.bets++;
    r.stakes += b.stake;
    if (b.status === "settled") r.returns += b.return ?? 0;
    else r.open++;
  }
  r.net = r.returns - r.stakes;
  return r;
}

// Whole hours and minutes of @ms (floored).
export function hoursMinutes(ms: number): { h: number; m: number } {
  const min = Math.max(0, Math.floor(ms / 60_000));
  return { h: Math.floor(min / 60), m: min % 60 };
}

// The hourly reminder: due when a new whole hour of play has begun since the last one shown.
export function reminderDue(elapsedMs: number, lastHourShown: number): number | null {
  const h = hoursMinutes(elapsedMs).h;
  return h >= 1 && h > lastHourShown ? h : null;
}

export const WEEK_MS = 7 * 24 * 3600 * 1000;

// The player's bets placed since @fromMs, open and settled (newest first, paged by 100; at most
// 10 pages of each, far beyond what the 7-day stake limit lets anyone place).
export async function betsSince(sport: string, token: string, fromMs: number): Promise<Bet[]> {
  const out: Bet[] = [];
  for (const status of ["open", "settled"] as const) {
    let before: number | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await listBets(sport, token, status, before, 100);
      out.push(...r.items);
      const oldest = r.items[r.items.length - 1];
      if (!r.next || !oldest || Date.parse(oldest.placed_at) < fromMs) break;
      before = r.next;
    }
  }
  return out;
}
