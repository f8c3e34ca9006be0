// A sport cluster's bets API (node/routes_bets.c), as the site uses it. Stakes and payouts are
// integer cents, prices integer milli-odds.
import { api, write } from "./api";

export interface BetLeg {
  fixture: string;
  market: string;
  line?: string;
  outcome: string;
  price: number; // the price the bet got
  price_seen: number;
  version: number;
  phase?: string;
  result?: string | null; // won, lost, push, void, half_won, half_lost
}

export type BetStatus = "pending_hold" | "pending" | "accepted" | "rejected" | "settled" | string;

export interface Bet {
  id: string;
  status: BetStatus;
  kind: "single" | "accumulator";
  stake: number;
  odds: number;
  payout: number; // potential
  policy: string;
  legs: BetLeg[];
  placed_at: string;
  updated_at?: string;
  reject_code?: string;
  result?: string; // settled: won, lost, void
  odds_settled?: number;
  return?: number; // settled: what the bet paid back
  paid?: string;
  delay_ms?: number; // status "pending": the acceptance delay it waits out (live bets)
  decide_after?: string;
}

const base = (sport: string) => `/api/${sport}/v1/bets`;

// Places one bet; the Idempotency-Key is made by write() and reused if the outcome is unknown.
export const placeBet = (sport: string, token: string, body: unknown) => write<Bet>(base(sport), body, { token });

export const getBet = (sport: string, token: string, id: string, signal?: AbortSignal) =>
  api<Bet>(`${base(sport)}/${encodeURIComponent(id)}`, { token, signal });

export function listBets(sport: string, token: string, status: "open" | "settled", before?: number, limit = 50) {
  return api<{ items: Bet[]; next: number | null }>(`${base(sport)}?status=${status}&limit=${limit}${before ? `&before=${before}` : ""}`, { token });
}

// A bet not decided yet: its stake hold not answered ("pending_hold"), or waiting out the
// acceptance delay ("pending", bet_delay_*_ms on the sport nodes).
export const WAITING = new Set(["pending_hold", "pending"]);

// Waits for a placed bet's hold to be answered (the sport cluster's leader asks the accounts
// cluster): pending_hold (or pending, during an acceptance delay) -> accepted or rejected. A 404 means the node read has not applied the
// bet yet: looked at again. Resolves with the last bet seen (still pending_hold when it gave up).
export async function waitForHold(get: (signal: AbortSignal) => Promise<Bet>, placed: Bet, signal: AbortSignal, delays = [300, 500, 1000, 1000, 2000, 2000, 3000, 3000, 5000, 5000]): Promise<Bet> {
  let last = placed;
  for (const wait of delays) {
    if (!WAITING.has(last.status)) return last;
    await new Promise((r) => setTimeout(r, wait));
    if (signal.aborted) return last;
    try {
      last = await get(signal);
    } catch {
      // Not applied yet on the node read (404), or a node restarting: looked at again.
      if (signal.aborted) return last;
    }
  }
  return last;
}
