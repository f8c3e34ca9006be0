// API refusals, shown to the player in their language. A refusal is an RFC 9457 problem
// (type, title, status, detail; the edge adds a `code`): the message is chosen from the code
// when there is one, else from the node's stable title, else from the status. The raw JSON
// and the English detail are never shown.
import { formatPrice } from "./format";
import type { Lang, MessageKey, Vars } from "./i18n";
import { formatCents } from "./money";

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  retryAfter?: number;
  // The body's other members (a bets refusal's current price, max stake, ...).
  data?: Record<string, unknown>;
}

const byCode: Record<string, MessageKey> = {
  "edge.unavailable": "problem.unavailable",
  "edge.rate_limited": "problem.rate_limited",
  "client.network": "problem.network",
  // The wallet's codes (consensus/wallet.h), from the accounts cluster.
  insufficient_funds: "problem.insufficient_funds",
  deposit_limit: "problem.deposit_limit",
  stake_limit: "problem.stake_limit",
  limits_required: "problem.limits_required",
  self_excluded: "problem.self_excluded",
  account_blocked: "problem.account_blocked",
  account_deactivated: "problem.account_deactivated",
  account_closed: "problem.account_closed",
  banned: "problem.banned",
  debt_outstanding: "problem.debt_outstanding",
  not_verified: "problem.not_verified",
  no_payment_account: "problem.no_payment_account",
  amount_invalid: "problem.amount_invalid",
  amount_mismatch: "problem.amount_invalid",
  invalid_limits: "problem.invalid_limits",
  invalid_exclusion: "problem.invalid_exclusion",
  deposit_state: "problem.wallet_state",
  deposit_exists: "problem.wallet_state",
  withdrawal_state: "problem.wallet_state",
  withdrawal_exists: "problem.wallet_state",
  no_such_deposit: "problem.not_found",
  no_such_withdrawal: "problem.not_found",
  no_such_player: "problem.not_found",
  no_such_transfer: "problem.not_found",
  // Codes of the sport clusters' and operators' calls: a player only meets them if something
  // went wrong on our side.
  no_such_hold: "problem.wallet_internal",
  hold_exists: "problem.wallet_internal",
  hold_already_posted: "problem.wallet_internal",
  hold_already_voided: "problem.wallet_internal",
  hold_expired: "problem.wallet_internal",
  post_exceeds_hold: "problem.wallet_internal",
  unknown_cluster: "problem.wallet_internal",
  invalid_cluster: "problem.wallet_internal",
  invalid_block: "problem.wallet_internal",
  invalid_correction: "problem.wallet_internal",
  invalid_event: "problem.wallet_internal",
  invalid_link: "problem.wallet_internal",
  invalid_payout: "problem.wallet_internal",
  transfer_exists: "problem.wallet_internal",
  invalid_ban: "problem.wallet_internal",
  // The bets codes (consensus/bets.h), from a sport cluster.
  invalid_bet: "problem.invalid_bet",
  too_many_legs: "problem.too_many_legs",
  same_fixture: "problem.same_fixture",
  no_market: "problem.no_market",
  market_suspended: "problem.market_suspended",
  betting_closed: "problem.betting_closed",
  invalid_quote: "problem.invalid_quote",
  not_offered: "problem.not_offered",
  price_changed: "problem.price_changed",
  below_min_stake: "problem.below_min_stake",
  above_max_stake: "problem.above_max_stake",
  above_max_payout: "problem.above_max_payout",
  liability_cap: "problem.liability_cap",
  // Cash-out (consensus/bets_cashout.c, node/routes_cashout.c).
  no_bet: "problem.no_bet",
  bet_not_open: "problem.bet_not_open",
  cashout_off: "problem.cashout_off",
  cashout_expired: "problem.cashout_expired",
  cashout_unavailable: "problem.cashout_unavailable",
  invalid_offer: "problem.invalid_offer",
  invalid_cashout: "problem.invalid_offer",
  // A player's password change (node/routes_password.c, consensus/accounts_password.c).
  invalid_password: "problem.wrong_password",
  bad_current: "problem.wrong_password",
  password_policy: "problem.invalid_password",
  same_password: "problem.same_password",
  second_factor_required: "problem.second_factor",
  invalid_second_factor: "problem.invalid_second_factor",
  bad_code: "problem.invalid_second_factor",
  too_many_failures: "problem.locked",
  session_ended: "problem.session_ended",
  password_changed: "problem.password_changed",
};

// Every code the bets API answers with (consensus/bets.c); a rejected hold carries a wallet code.
export const BET_CODES = [
  "invalid_bet", "too_many_legs", "same_fixture", "no_market", "market_suspended", "betting_closed", "invalid_quote",
  "not_offered", "price_changed", "below_min_stake", "above_max_stake", "above_max_payout", "liability_cap",
];
// Every code the cash-out answers with besides the bets codes (market_suspended, price_changed,
// betting_closed, not_offered).
export const CASHOUT_CODES = ["no_bet", "bet_not_open", "cashout_off", "cashout_expired", "cashout_unavailable", "invalid_offer", "invalid_cashout"];
// The wallet's refusals of a bet's stake hold (consensus/wallet.c, wallet_hold): its reject_code.
export const HOLD_CODES = ["insufficient_funds", "stake_limit", "limits_required", "self_excluded", "account_blocked", "account_deactivated", "debt_outstanding", "no_such_player", "banned"];

// Every code a password change answers with (node/routes_password.c, consensus/accounts_password.c).
export const PASSWORD_CODES = ["invalid_password", "bad_current", "password_policy", "same_password", "second_factor_required", "invalid_second_factor", "bad_code", "too_many_failures", "session_ended", "password_changed"];

// Every code the wallet answers with (consensus/wallet.h, consensus/wallet.c).
export const WALLET_CODES = Object.keys(byCode).filter((c) => !c.includes(".") && !BET_CODES.includes(c) && !CASHOUT_CODES.includes(c) && !PASSWORD_CODES.includes(c));

// The nodes' problem titles (node/routes_accounts.c, node/http.c) are part of the API.
const byTitle: Record<string, MessageKey> = {
  "Email taken": "problem.email_taken",
  "Invalid email": "problem.invalid_email",
  "Invalid password": "problem.invalid_password",
  "Sign-in failed": "problem.signin_failed",
  "Too many failed sign-ins": "problem.locked",
  "Second factor required": "problem.second_factor",
  "Invalid second factor": "problem.invalid_second_factor",
  "Session ended": "problem.session_ended",
  "Invalid refresh token": "problem.session_ended",
  "Tokens already issued": "problem.tokens_issued",
  "Outcome unknown": "problem.outcome_unknown",
  "No leader": "problem.unavailable",
  "Not ready": "problem.unavailable",
  "Not applied": "problem.unavailable",
  Busy: "problem.busy",
  "Cluster unavailable": "problem.unavailable",
  "No such fixture": "problem.not_found",
  // The wallet routes' own refusals (node/routes_wallet.c), before a command is proposed.
  "Invalid amount": "problem.amount_invalid",
  "Invalid deposit": "problem.amount_invalid",
  "Invalid withdrawal": "problem.amount_invalid",
  "Invalid exclusion": "problem.invalid_exclusion",
  "No such deposit": "problem.not_found",
  "No such withdrawal": "problem.not_found",
  "Payment provider unavailable": "problem.payments_unavailable",
  "Payments not configured": "problem.payments_unavailable",
  "Invalid bet": "problem.invalid_bet",
};

function byStatus(status: number): MessageKey {
  if (status === 0) return "problem.network";
  if (status === 401) return "problem.unauthorized";
  if (status === 404) return "problem.not_found";
  if (status === 429) return "problem.rate_limited";
  if (status === 502 || status === 503 || status === 504) return "problem.unavailable";
  if (status >= 500) return "problem.server";
  if (status === 400 || status === 415 || status === 422) return "problem.bad_request";
  return "problem.generic";
}

const int = (v: unknown) => (Number.isSafeInteger(v) ? (v as number) : undefined);

export function problemMessage(p: Problem, lang: Lang = "fr"): { key: MessageKey; vars: Vars } {
  let key = (p.code && byCode[p.code]) || (p.title && byTitle[p.title]) || byStatus(p.status);
  // A bet rejected after its acceptance delay names no new price.
  if (key === "problem.price_changed" && int(p.data?.current) === undefined) key = "problem.price_changed_delay";
  const vars: Vars = { status: p.status, seconds: p.retryAfter ?? 15 };
  // The amounts and prices a bets refusal carries, written in the player's language.
  const d = p.data ?? {};
  const cents = (k: string) => (int(d[k]) !== undefined ? formatCents(int(d[k])!, lang) : "—");
  vars.price = formatPrice(int(d.current), lang);
  vars.max = cents("max");
  vars.min = cents("min");
  vars.max_stake = cents("max_stake");
  vars.legs = int(d.max) ?? 10;
  return { key, vars };
}

// Reads a refusal off a response: problem+json when the body is one, else the status alone.
export async function problemFrom(res: Response): Promise<Problem> {
  const retry = Number(res.headers.get("Retry-After"));
  const base: Problem = { status: res.status, retryAfter: Number.isFinite(retry) && retry > 0 ? retry : undefined };
  try {
    const body = (await res.json()) as Partial<Problem>;
    if (body && typeof body === "object") {
      const { type, title, status, detail, code, ...data } = body as Record<string, unknown>;
      void type, title, status, detail, code;
      return {
        data,
        ...base,
        type: typeof body.type === "string" ? body.type : undefined,
        title: typeof body.title === "string" ? body.title : undefined,
        detail: typeof body.detail === "string" ? body.detail : undefined,
        code: typeof body.code === "string" ? body.code : undefined,
      };
    }
  } catch {
    /* not JSON: the status says enough */
  }
  return base;
}
