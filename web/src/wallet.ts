// The accounts cluster's wallet API (node/routes_wallet.c), as the site uses it. Amounts are
// integer cents both ways.
import { api, write } from "./api";

const W = "/api/accounts/v1/wallet";

export type LimitName = "deposit_7d" | "stake_7d" | "auto_withdraw";
export const LIMIT_NAMES: LimitName[] = ["deposit_7d", "stake_7d", "auto_withdraw"];

export interface Wallet {
  player_id: string;
  currency: string;
  balance: number;
  available: number;
  held: number;
  withdrawable: number;
  debt: number;
  limits: Partial<Record<LimitName, number>>;
  pending_raises: Partial<Record<LimitName, { value: number; from: string }>>;
  window_used: { deposits: number; stakes: number };
  window_left: { deposits: number | null; stakes: number | null };
  excluded_until?: string;
  verified: boolean;
}

export interface Transfer {
  id: string;
  kind: string;
  amount: number;
  signed_amount: number;
  direction: "in" | "out";
  at: string;
  position: number;
  pending?: boolean;
}

export interface Statement {
  items: Transfer[];
  next?: number;
}

export interface Deposit {
  id: string;
  amount: number;
  status: string; // open, succeeded, failed, refunded, charged_back
  url?: string;
}

export interface OpenedDeposit {
  deposit_id: string;
  amount: number;
  status: string;
  payment_id: string;
  url: string;
}

export const getWallet = (token: string) => api<Wallet>(W, { token });

export function getStatement(token: string, before?: number, limit = 20): Promise<Statement> {
  const q = `?limit=${limit}${before ? `&before=${before}` : ""}`;
  return api<Statement>(`${W}/transactions${q}`, { token });
}

export const setLimits = (token: string, limits: Partial<Record<LimitName, number>>) =>
  write<unknown>(`${W}/limits`, limits, { token });

export const selfExclude = (token: string, hours: number) =>
  write<unknown>(`${W}/self-exclusion`, { hours }, { token });

export const openDeposit = (token: string, amount: number) =>
  write<OpenedDeposit>(`${W}/deposits`, { amount }, { token });

export const getDeposit = (token: string, id: string, signal?: AbortSignal) =>
  api<Deposit>(`${W}/deposits/${encodeURIComponent(id)}`, { token, signal });

export const openWithdrawal = (token: string, amount: number) =>
  write<{ id: string; status: string }>(`${W}/withdrawals`, { amount }, { token });

// The waits between two looks at a deposit: doubling from `first` up to `cap`, `tries` looks
// at most (1 + 2 + 4 + 8 + 8 ... s: about 10 minutes with the defaults).
export function backoff(tries = 80, first = 1000, cap = 8000): number[] {
  const out: number[] = [];
  for (let i = 0, d = first; i < tries; i++, d = Math.min(cap, d * 2)) out.push(d);
  return out;
}

export type PollEnd = "settled" | "gave_up" | "aborted";

// Looks at a deposit until it leaves "open" (the provider's webhook has reached the cluster),
// waiting `delays[i]` before look i; each answer goes to onUpdate. A failed look (the network,
// a node restarting) is only counted, not fatal. Resolves with why it stopped.
export async function pollDeposit(
  get: (signal: AbortSignal) => Promise<Deposit>,
  onUpdate: (d: Deposit) => void,
  signal: AbortSignal,
  delays: number[] = backoff(),
): Promise<PollEnd> {
  for (const wait of delays) {
    const ok = await new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(false);
      const t = setTimeout(() => {
        signal.removeEventListener("abort", stop);
        resolve(true);
      }, wait);
      const stop = () => {
        clearTimeout(t);
        resolve(false);
      };
      signal.addEventListener("abort", stop, { once: true });
    });
    if (!ok) return "aborted";
    try {
      const d = await get(signal);
      if (signal.aborted) return "aborted";
      onUpdate(d);
      if (d.status !== "open") return "settled";
    } catch {
      if (signal.aborted) return "aborted";
    }
  }
  return "gave_up";
}
