// The clusters behind the edge: /api/accounts/... and /api/<sport>/... (prefix stripped there).
import { problemFrom, type Problem } from "./problems";

export class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.title ?? `HTTP ${problem.status}`);
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string;
  // Writes carry one; the same key is reused when the same attempt is retried.
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? "GET",
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      credentials: "same-origin",
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError({ status: 0, code: "client.network" });
  }
  if (!res.ok) throw new ApiError(await problemFrom(res));
  return (await res.json()) as T;
}

// A write retried once, with the same Idempotency-Key, when its outcome is unknown (the
// connection failed after sending, the edge timed out, or the node said "Outcome unknown"):
// the node answers the first outcome instead of applying it twice.
export async function write<T>(path: string, body: unknown, opts: Omit<RequestOptions, "body" | "method" | "idempotencyKey"> & { method?: string } = {}): Promise<T> {
  const key = newIdempotencyKey();
  const call = () => api<T>(path, { ...opts, method: opts.method ?? "POST", body, idempotencyKey: key });
  try {
    return await call();
  } catch (e) {
    const p = e instanceof ApiError ? e.problem : undefined;
    const unknown = p && (p.status === 0 || p.status === 504 || p.title === "Outcome unknown" || p.code === "edge.unavailable");
    if (!unknown) throw e;
    await new Promise((r) => setTimeout(r, 500));
    return call();
  }
}

export interface Fixture {
  id: string;
  sport: string;
  competition: string;
  home: string;
  away: string;
  kickoff: string;
  status: string;
  version: number;
}

export type Prices = Record<string, Record<string, number | Record<string, number>>>;

export interface Live {
  home_goals: number;
  away_goals: number;
  minute: number;
  period: number;
  in_play: boolean;
  ended: boolean;
}

export interface Market {
  fixture: string;
  sport: string;
  status: "pending" | "open" | "suspended" | "closed";
  reason?: string;
  version: number;
  phase?: string;
  prices?: Prices | null;
  live?: Live | null;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

// Every page of a list, following `next`.
export async function listAll<T>(path: string, limit: number, signal?: AbortSignal): Promise<T[]> {
  const out: T[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = path.includes("?") ? "&" : "?";
    const url: string = `${path}${sep}limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
    const page: Page<T> = await api<Page<T>>(url, { signal });
    out.push(...page.items);
    if (!page.next) break;
    after = page.next;
  }
  return out;
}
