// The console's calls through the edge. The operator's token lives only in the caller's memory
// (a React state): never in localStorage, sessionStorage or a cookie.
export interface Problem {
  status: number;
  code?: string;
  detail: string;
}
export type Result<T> = { ok: true; value: T } | { ok: false; problem: Problem };

export interface Session {
  token: string;
  operatorId: string;
  scopes: string[];
  expiresAt: number; // ms since the epoch
}

async function call<T>(method: string, url: string, token?: string, body?: unknown): Promise<Result<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method === "POST" && token) headers["Idempotency-Key"] = crypto.randomUUID();
  let r: Response;
  try {
    r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "omit" });
  } catch (e) {
    return { ok: false, problem: { status: 0, detail: String(e) } };
  }
  let j: unknown = null;
  try {
    j = await r.json();
  } catch {
    j = null;
  }
  if (r.ok) return { ok: true, value: j as T };
  const p = (j ?? {}) as { code?: string; detail?: string; title?: string };
  return { ok: false, problem: { status: r.status, code: p.code, detail: p.detail ?? p.title ?? `HTTP ${r.status}` } };
}

export async function signIn(email: string, password: string, totp: string): Promise<Result<Session>> {
  const r = await call<{ access_token: string; expires_in: number; scope: string; operator_id: string }>(
    "POST", "/api/accounts/v1/operators/sessions", undefined, { email, password, totp });
  if (!r.ok) return r;
  return {
    ok: true,
    value: {
      token: r.value.access_token,
      operatorId: r.value.operator_id,
      scopes: r.value.scope.split(" ").filter(Boolean),
      expiresAt: Date.now() + r.value.expires_in * 1000,
    },
  };
}

export const adminGet = <T>(s: Session, cluster: string, path: string) => call<T>("GET", `/api/${cluster}/admin/v1/${path}`, s.token);
// The same route on one node only, through the edge's per-node route (no fail-over).
export const adminGetNode = <T>(s: Session, cluster: string, id: number, path: string) =>
  call<T>("GET", `/api/${cluster}/nodes/${id}/admin/v1/${path}`, s.token);
export const adminPost = <T>(s: Session, cluster: string, path: string, body: unknown) =>
  call<T>("POST", `/api/${cluster}/admin/v1/${path}`, s.token, body);

// One node's readiness through the edge's per-node route (GET /api/CLUSTER/nodes/ID/readyz):
// the node answered ready (up), answered but is not ready (no leader known, still applying),
// or could not be reached (the edge's own edge.unavailable, or no answer at all).
export type NodeState = "up" | "notready" | "down";
export async function nodeReady(cluster: string, id: number): Promise<NodeState> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 4000);
  try {
    const r = await fetch(`/api/${cluster}/nodes/${id}/readyz`, { credentials: "omit", signal: ctl.signal });
    if (r.ok) return "up";
    const j = (await r.json().catch(() => null)) as { code?: string } | null;
    return j?.code === "edge.unavailable" || r.status === 502 || r.status === 504 ? "down" : "notready";
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

// The agreement as the leader tallies it (its /admin/v1/cluster: observations and quote votes):
// members whose signed bytes differed from the agreed ones (dissent, per node), subjects with
// votes and no agreement past the alert delay (stalled), and the alerts raised so far.
export interface AgreementView {
  observations?: { dissent?: Record<string, number>; stalled?: number; alerts?: number } | null;
  quotes?: { dissent?: Record<string, number> } | null;
}
export type AgreementAlert =
  | { kind: "dissent"; node: number; observations: number; quotes: number }
  | { kind: "stalled"; subjects: number };
export function agreementAlerts(v: AgreementView): AgreementAlert[] {
  const out: AgreementAlert[] = [];
  const obs = v.observations?.dissent ?? {}, quo = v.quotes?.dissent ?? {};
  const nodes = [...new Set([...Object.keys(obs), ...Object.keys(quo)])].map(Number).sort((a, b) => a - b);
  for (const node of nodes) {
    const o = obs[String(node)] ?? 0, q = quo[String(node)] ?? 0;
    if (o > 0 || q > 0) out.push({ kind: "dissent", node, observations: o, quotes: q });
  }
  const stalled = v.observations?.stalled ?? 0;
  if (stalled > 0) out.push({ kind: "stalled", subjects: stalled });
  return out;
}
