// The player's bets kept current from the bet stream (GET /v1/stream/bets of a sport cluster,
// server-sent events: every status change with the bet record as it is when sent), instead of
// reading the list again every few seconds. The stream client (stream.ts) reconnects with
// Last-Event-ID, so no change is lost across a dropped connection or a node restarting.
import type { Bet } from "./bets";
import { openStream, type StreamHandle, type StreamStatus } from "./stream";

export interface BetEvent {
  id?: string;
  type: string; // placed, held, accepted, rejected, hold_voided, settled, paid
  bet_id: string;
  status?: string;
  at?: string;
  bet?: Bet;
}

// Parses one event's data; undefined for anything that is not a bet event with its record.
export function parseBetEvent(data: string): BetEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== "object") return undefined;
  const e = v as BetEvent;
  if (typeof e.bet_id !== "string" || !e.bet || typeof e.bet !== "object" || e.bet.id !== e.bet_id) return undefined;
  return e;
}

const rank: Record<string, number> = { pending_hold: 0, pending: 1, accepted: 2, rejected: 3, settled: 4 };

// Whether record b is at least as new as record a (an event may arrive after a fresher list
// read: the newer record wins; updated_at first, then the status order).
export function newer(a: Bet | undefined, b: Bet): boolean {
  if (!a) return true;
  if (a.updated_at && b.updated_at && a.updated_at !== b.updated_at) return b.updated_at > a.updated_at;
  return (rank[b.status] ?? 0) >= (rank[a.status] ?? 0);
}

// As GET /v1/bets?status=open counts them (consensus/bets.c): every other status is "settled".
const OPEN = new Set(["pending_hold", "pending", "accepted"]);
export const isOpen = (b: Bet) => OPEN.has(b.status);
export const isDone = (b: Bet) => !isOpen(b);

// Merges changed records into a list (newest placement first), keeping only those the list
// shows (`keep`): a bet settled leaves the open list and enters the settled one.
export function mergeBets(list: Bet[], changed: Iterable<Bet>, keep: (b: Bet) => boolean): Bet[] {
  const byId = new Map(list.map((b) => [b.id, b] as const));
  for (const b of changed) if (newer(byId.get(b.id), b)) byId.set(b.id, b);
  return [...byId.values()].filter(keep).sort((x, y) => (x.placed_at < y.placed_at ? 1 : x.placed_at > y.placed_at ? -1 : x.id < y.id ? 1 : -1));
}

export interface BetStreamOptions {
  sport: string;
  token: () => string;
  onBet: (b: Bet, e: BetEvent) => void;
  onStatus?: (s: StreamStatus) => void;
  fetchImpl?: typeof fetch;
  minDelayMs?: number;
}

export function openBetStream(o: BetStreamOptions): StreamHandle {
  return openStream({
    url: `/api/${o.sport}/v1/stream/bets`,
    headers: () => ({ Authorization: `Bearer ${o.token()}` }),
    fetchImpl: o.fetchImpl,
    minDelayMs: o.minDelayMs,
    onStatus: o.onStatus,
    onEvent: (ev) => {
      const e = parseBetEvent(ev.data);
      if (e && e.bet) o.onBet(e.bet, { ...e, id: ev.id });
    },
  });
}
