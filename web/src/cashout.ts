// Cash-out (node/routes_cashout.c): the offer for an accepted bet, computed by the sport node
// from the agreed prices and valid a few seconds, and its acceptance (the state machine checks
// it against the prices at that moment). Amounts are integer cents.
import { api, write } from "./api";
import type { Bet } from "./bets";
import type { Lang, MessageKey, Vars } from "./i18n";
import { problemMessage, type Problem } from "./problems";

export interface CashoutOffer {
  bet_id: string;
  offer: string; // the token to send back
  amount: number; // cents
  fair_value: number;
  margin_bp: number;
  versions: (number | null)[];
  expires_ms: number;
  validity_ms: number;
}

const path = (sport: string, id: string) => `/api/${sport}/v1/bets/${encodeURIComponent(id)}/cashout`;

export const getCashout = (sport: string, token: string, id: string, signal?: AbortSignal) =>
  api<CashoutOffer>(path(sport, id), { token, signal });

// Accepts @o: answers the bet, settled "cashed_out" with the amount as its return.
export const acceptCashout = (sport: string, token: string, o: CashoutOffer) =>
  write<Bet>(path(sport, o.bet_id), { offer: o.offer, amount: o.amount, versions: o.versions }, { token });

// Only an accepted bet not yet settled has an offer.
export const canCashOut = (b: Bet) => b.status === "accepted";

// The fixtures whose prices an offer depends on (the legs without a result yet).
export const offerFixtures = (b: Bet) => b.legs.filter((l) => !l.result).map((l) => l.fixture);

// When to ask again for an offer that stands until @expiresMs (the node's clock): a little
// before it runs out, at least 0.5 s from now.
export function refreshDelay(expiresMs: number, now: number): number {
  return Math.max(500, expiresMs - now - 500);
}

// A cash-out refusal in words: the codes of the state machine (consensus/bets_cashout.c) and
// the route's own; the bets codes read differently here (a suspended market, moved prices
// mean "no offer right now", not "your bet was refused").
const inCashout: Record<string, MessageKey> = {
  market_suspended: "problem.cashout_suspended",
  price_changed: "problem.cashout_price_changed",
  betting_closed: "problem.cashout_closed",
  not_offered: "problem.cashout_unavailable",
};

export function cashoutMessage(p: Problem, lang: Lang = "fr"): { key: MessageKey; vars: Vars } {
  const m = problemMessage(p, lang);
  const key = (p.code && inCashout[p.code]) || m.key;
  return { key, vars: m.vars };
}

// Whether an offer is to be asked again after this refusal (it may come back: suspended, moved,
// expired) or not (switched off, the bet is no longer open, not the player's).
export function refusalIsFinal(p: Problem): boolean {
  return ["bet_not_open", "no_bet", "cashout_unavailable"].includes(p.code ?? "") || p.status === 404;
}
