// The player's session, in memory only (never localStorage or a cookie): a reload signs out.
// The access token (15 minutes) is renewed a minute before it expires with the refresh token,
// which rotates on every use; if the renewal fails the session ends and the player signs in
// again. The site never sees an operator's admin token.
import { useSyncExternalStore } from "react";
import { api, write } from "./api";

export interface Session {
  playerId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
  since: number; // when the player signed in (ms since the epoch): kept across renewals
}

interface Issued {
  player_id: string;
  session_id: string;
  access_token: string;
  expires_in: number;
  refresh_token: string;
}

const ACCOUNTS = "/api/accounts/v1";
let current: Session | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const listeners = new Set<() => void>();

function set(s: Session | null) {
  current = s;
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (s) timer = setTimeout(() => void refresh(), Math.max(5_000, s.expiresAt - Date.now() - 60_000));
  listeners.forEach((l) => l());
}

function fromIssued(email: string, r: Issued, since = Date.now()): Session {
  return {
    since,
    playerId: r.player_id,
    email,
    accessToken: r.access_token,
    refreshToken: r.refresh_token,
    expiresAt: Date.now() + r.expires_in * 1000,
  };
}

export async function register(email: string, password: string): Promise<{ id: string; email: string }> {
  return write(`${ACCOUNTS}/players`, { email, password });
}

export async function signIn(email: string, password: string, totp?: string): Promise<Session> {
  const body: Record<string, string> = { email, password };
  if (totp) body.totp = totp;
  const r = await write<Issued>(`${ACCOUNTS}/sessions`, body);
  const s = fromIssued(email.trim().toLowerCase(), r);
  set(s);
  return s;
}

// A new password for the signed-in player: the current one, the new one and, when two-step
// sign-in is on, a one-time code (6 digits) or a recovery code. The cluster keeps this session
// and closes the player's others; how many in `sessions_revoked`.
export async function changePassword(token: string, current: string, next: string, code?: string): Promise<{ sessions_revoked: number }> {
  const body: Record<string, string> = { current, new: next };
  if (code) body[/^[0-9]{6}$/.test(code) ? "code" : "recovery_code"] = code;
  return write(`${ACCOUNTS}/players/me/password`, body, { token });
}

async function refresh(): Promise<void> {
  const s = current;
  if (!s) return;
  try {
    const r = await write<Issued>(`${ACCOUNTS}/sessions/refresh`, { refresh_token: s.refreshToken });
    if (current === s) set(fromIssued(s.email, r, s.since));
  } catch {
    if (current === s) set(null);
  }
}

export async function signOut(): Promise<void> {
  const s = current;
  set(null);
  if (s) {
    await api(`${ACCOUNTS}/sessions/current`, {
      method: "DELETE",
      token: s.accessToken,
      idempotencyKey: crypto.randomUUID(),
    }).catch(() => undefined);
  }
}

export function useSession(): Session | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => current,
  );
}
