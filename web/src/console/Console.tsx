// The operator's console: sign-in (e-mail, password, TOTP) then the pages the operator's scopes
// allow. The operator token is kept in this component's state only and dropped at its expiry.
import { useEffect, useState, type FormEvent } from "react";
import { adminGet, adminGetNode, adminPost, agreementAlerts, nodeReady, type AgreementView, signIn, type NodeState, type Problem, type Session } from "./api";
import { listAll, type Fixture, type Market } from "../api";
import { ct, refusal, type ConsoleKey, type ConsoleLang } from "./messages";
import { LedgerPage, OraclePage } from "./Reports";
import { TraderPage } from "./Trader";
import { Alert, cents, Failure, SPORT, useLoad, type PageProps, type T } from "./ui";

type Page = "cluster" | "board" | "trader" | "bets" | "liability" | "kyc" | "ledger" | "oracle";
const PAGES: { id: Page; scope: string; key: ConsoleKey }[] = [
  { id: "cluster", scope: "cluster", key: "c.page.cluster" },
  { id: "board", scope: "bets", key: "c.page.board" },
  { id: "trader", scope: "bets", key: "c.page.trader" },
  { id: "bets", scope: "bets", key: "c.page.bets" },
  { id: "liability", scope: "bets", key: "c.page.liability" },
  { id: "kyc", scope: "kyc", key: "c.page.kyc" },
  { id: "ledger", scope: "wallet", key: "c.page.ledger" },
  { id: "oracle", scope: "oracle", key: "c.page.oracle" },
];

export function Console() {
  const [lang, setLang] = useState<ConsoleLang>("fr");
  const t: T = (k, v) => ct(lang, k, v);
  const [session, setSession] = useState<Session>();
  const [expired, setExpired] = useState(false);
  const [page, setPage] = useState<Page>("cluster");
  useEffect(() => { document.documentElement.lang = lang; document.title = `Parlay — ${ct(lang, "c.title")}`; }, [lang]);
  useEffect(() => {
    if (!session) return;
    const id = setTimeout(() => { setSession(undefined); setExpired(true); }, Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(id);
  }, [session]);
  // A 401 on an admin route: the token is no longer good (expired or revoked).
  const onProblem = (p: Problem) => { if (p.status === 401) { setSession(undefined); setExpired(true); } };
  const pages = session ? PAGES.filter((p) => session.scopes.includes(p.scope)) : [];
  const current = pages.find((p) => p.id === page) ?? pages[0];
  return (
    <>
      <header className="console-header">
        <p className="console-brand"><a href="/">Parlay</a></p>
        <label>{t("c.lang")}{" "}
          <select value={lang} onChange={(e) => setLang(e.target.value as ConsoleLang)}>
            <option value="fr">Français</option>
            <option value="en">English</option>
          </select>
        </label>
        {session && (
          <>
            <p>{t("c.signedin", { id: session.operatorId, scope: session.scopes.join(", ") })}</p>
            <button type="button" onClick={() => setSession(undefined)}>{t("c.signout")}</button>
          </>
        )}
      </header>
      {session && (
        <nav aria-label={t("c.nav")}>
          <ul className="console-nav">
            {pages.map((p) => (
              <li key={p.id}>
                <a href={`#${p.id}`} aria-current={current?.id === p.id ? "page" : undefined}
                   onClick={(e) => { e.preventDefault(); setPage(p.id); }}>{t(p.key)}</a>
              </li>
            ))}
          </ul>
        </nav>
      )}
      <main className="console" id="main">
        <h1>{t("c.title")}</h1>
        {!session ? (
          <SignIn t={t} lang={lang} expired={expired} onSession={(s) => { setSession(s); setExpired(false); }} />
        ) : current ? (
          <section aria-labelledby="page-title" data-page={current.id}>
            <h2 id="page-title">{t(current.key)}</h2>
            {current.id === "cluster" && <ClusterPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "board" && <BoardPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "trader" && <TraderPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "bets" && <BetsPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "liability" && <LiabilityPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "kyc" && <KycPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "ledger" && <LedgerPage s={session} t={t} lang={lang} onProblem={onProblem} />}
            {current.id === "oracle" && <OraclePage s={session} t={t} lang={lang} onProblem={onProblem} />}
          </section>
        ) : null}
      </main>
    </>
  );
}

function SignIn({ t, lang, expired, onSession }: { t: T; lang: ConsoleLang; expired: boolean; onSession: (s: Session) => void }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    const r = await signIn(String(f.get("email")), String(f.get("password")), String(f.get("totp")));
    setBusy(false);
    if (r.ok) onSession(r.value);
    else setErr(refusal(lang, r.problem.code, r.problem.status, r.problem.detail));
  };
  return (
    <form onSubmit={submit} aria-labelledby="signin-title" className="console-form">
      <h2 id="signin-title">{t("c.signin.title")}</h2>
      {expired && <p role="status">{t("c.expired")}</p>}
      {err && <Alert>{err}</Alert>}
      <label>{t("c.signin.email")} <input name="email" type="email" autoComplete="username" required /></label>
      <label>{t("c.signin.password")} <input name="password" type="password" autoComplete="current-password" required /></label>
      <label>{t("c.signin.totp")} <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required /></label>
      <button type="submit" disabled={busy}>{busy ? t("c.signin.busy") : t("c.signin.submit")}</button>
    </form>
  );
}

interface Member { id: number; role: string; http_address?: string; match_index?: number; lag?: number }
interface ClusterView { state?: string; term: number; leader: { id: number } | null; members: Member[] }

// Each member's own readiness, asked through the edge's per-node route (no fail-over there):
// "up" when it answers ready, "notready" when it answers but has no leader or is still applying
// the log, "down" when the edge could not reach it. Read every 2 s.
function useNodeStates(cluster: string, ids: number[]): Record<number, NodeState> {
  const [states, setStates] = useState<Record<number, NodeState>>({});
  const key = ids.join(",");
  useEffect(() => {
    let live = true;
    const look = () => {
      for (const id of key ? key.split(",").map(Number) : []) {
        nodeReady(cluster, id).then((st) => { if (live) setStates((m) => (m[id] === st ? m : { ...m, [id]: st })); });
      }
    };
    look();
    const timer = setInterval(look, 2000);
    return () => { live = false; clearInterval(timer); };
  }, [cluster, key]);
  return states;
}

function ClusterCard({ s, t, lang, name, onProblem }: PageProps & { name: string }) {
  const [c, p, reload] = useLoad(() => adminGet<ClusterView>(s, name, "cluster"));
  useEffect(() => { const id = setInterval(reload, 2000); return () => clearInterval(id); }, [reload]);
  const states = useNodeStates(name, c ? c.members.map((m) => m.id) : []);
  const unreachable = c ? c.members.filter((m) => states[m.id] === "down").map((m) => m.id) : [];
  const down = p && (p.status === 0 || p.status >= 502);
  return (
    <section aria-labelledby={`cl-${name}`} className="console-card" data-cluster={name} data-leader={c?.leader?.id ?? ""}>
      <h3 id={`cl-${name}`}>{t("c.cluster.name", { name })}</h3>
      {/* A failed read while some node still answers (an election after the leader died):
          the last view stays, marked as such; the cluster is unreachable only when no node is up. */}
      {down && c && Object.values(states).includes("up") ? <p role="status" className="stale">{t("c.cluster.stale")}</p>
        : down ? <Alert>{t("c.cluster.unavailable")}</Alert> : <Failure p={p} lang={lang} onProblem={onProblem} />}
      {!c && !p && <p>{t("c.loading")}</p>}
      {c && (
        <>
          <p className="leader">{c.leader ? t("c.cluster.leader", { id: c.leader.id }) : t("c.cluster.noleader")}</p>
          <p>{t("c.cluster.term", { term: c.term })}</p>
          {unreachable.length > 0 && (
            <p role="alert" className="console-alert nodes-down">
              {t(unreachable.length === 1 ? "c.cluster.nodeDown" : "c.cluster.nodesDown", { ids: unreachable.join(", ") })}
            </p>
          )}
          {c.leader && <AgreementPanel s={s} t={t} name={name} leader={c.leader.id} />}
          <table>
            <caption>{t("c.cluster.members", { name })}</caption>
            <thead><tr><th scope="col">{t("c.cluster.id")}</th><th scope="col">{t("c.cluster.role")}</th><th scope="col">{t("c.cluster.lag")}</th><th scope="col">{t("c.cluster.state")}</th></tr></thead>
            <tbody>
              {c.members.map((m) => (
                <tr key={m.id} data-member={m.id} data-state={states[m.id] ?? "unknown"}>
                  <th scope="row">{m.id}{c.leader?.id === m.id ? " ★" : ""}</th>
                  <td>{m.role}</td>
                  <td className="lag">{m.lag ?? "—"}</td>
                  <td className="state">{states[m.id] ? t(`c.cluster.${states[m.id]}`) : "…"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

// The agreement as the leader sees it (only the leader tallies): dissenting members and
// subjects stuck without agreement, read every 2 s from the leader's own node route.
function AgreementPanel({ s, t, name, leader }: { s: Session; t: T; name: string; leader: number }) {
  const [v, p, reload] = useLoad(() => adminGetNode<AgreementView>(s, name, leader, "cluster"));
  useEffect(() => { const id = setInterval(reload, 2000); return () => clearInterval(id); }, [reload]);
  useEffect(reload, [leader, reload]);
  const alerts = v ? agreementAlerts(v) : [];
  return (
    <div className="agreement" data-agreement={v ? (alerts.length ? "alert" : "ok") : "unknown"}>
      <h4>{t("c.agr.title")}</h4>
      {p && <p>{t("c.agr.unknown")}</p>}
      {v && alerts.length === 0 && <p className="agr-ok">{t("c.agr.ok")}</p>}
      {alerts.length > 0 && (
        <ul role="alert" className="console-alert">
          {alerts.map((a) => (
            <li key={a.kind === "dissent" ? `d${a.node}` : "stalled"}>
              {a.kind === "dissent"
                ? t("c.agr.dissent", { node: a.node, obs: a.observations, quotes: a.quotes })
                : t("c.agr.stalled", { n: a.subjects })}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function ClusterPage(props: PageProps) {
  return (
    <>
      <ClusterCard {...props} name={SPORT} />
      <ClusterCard {...props} name="accounts" />
    </>
  );
}

interface Switches { all: boolean; live: boolean; fixtures_closed: Record<string, unknown> }

function BetsPage({ s, t, lang, onProblem }: PageProps) {
  const [sw0, p] = useLoad(() => adminGet<Switches>(s, SPORT, "bets/switches"));
  const [fresh, setFresh] = useState<Switches>();
  const sw = fresh ?? sw0;
  const [err, setErr] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  // The write goes to the leader; the read may come from a node that has not applied it yet:
  // read again (up to 25 times, 200 ms apart) until the switch shows the change.
  const flip = async (scope: "all" | "live", open: boolean) => {
    setBusy(true);
    const r = await adminPost(s, SPORT, "bets/switches", { scope, open });
    if (!r.ok) setErr(r.problem);
    else {
      setErr(undefined);
      for (let i = 0; i < 25; i++) {
        const g = await adminGet<Switches>(s, SPORT, "bets/switches");
        if (g.ok) setFresh(g.value);
        if (g.ok && g.value[scope] === open) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    setBusy(false);
  };
  const row = (scope: "all" | "live", label: string, open: boolean) => (
    <tr data-switch={scope} data-open={String(open)}>
      <th scope="row">{label}</th>
      <td className="state">{open ? t("c.bets.open") : t("c.bets.closed")}</td>
      <td><button type="button" disabled={busy} onClick={() => flip(scope, !open)}>{open ? t("c.bets.turnOff", { what: label }) : t("c.bets.turnOn", { what: label })}</button></td>
    </tr>
  );
  const closed = sw ? Object.keys(sw.fixtures_closed ?? {}) : [];
  return (
    <>
      <Failure p={p ?? err} lang={lang} onProblem={onProblem} />
      {!sw && !p && <p>{t("c.loading")}</p>}
      {sw && (
        <>
          <table>
            <tbody>
              {row("all", t("c.bets.all"), sw.all)}
              {row("live", t("c.bets.live"), sw.live)}
            </tbody>
          </table>
          <CashoutSwitch s={s} t={t} lang={lang} onProblem={onProblem} />
          <h3>{t("c.bets.fixtures")}</h3>
          {closed.length ? <ul>{closed.map((f) => <li key={f}>{f}</li>)}</ul> : <p>{t("c.bets.none")}</p>}
        </>
      )}
    </>
  );
}

interface CashoutSettings { enabled: boolean; margin_bp: number; validity_ms: number }

// The cash-out switch (POST /admin/v1/bets/cashout, CMD_BET_CASHOUT_SET), read again after a
// flip until the node read shows it, like the betting switches.
function CashoutSwitch({ s, t, lang, onProblem }: PageProps) {
  const [c0, p] = useLoad(() => adminGet<CashoutSettings>(s, SPORT, "bets/cashout"));
  const [fresh, setFresh] = useState<CashoutSettings>();
  const c = fresh ?? c0;
  const [err, setErr] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const flip = async (enabled: boolean) => {
    setBusy(true);
    const r = await adminPost(s, SPORT, "bets/cashout", { enabled });
    if (!r.ok) setErr(r.problem);
    else {
      setErr(undefined);
      for (let i = 0; i < 25; i++) {
        const g = await adminGet<CashoutSettings>(s, SPORT, "bets/cashout");
        if (g.ok) setFresh(g.value);
        if (g.ok && g.value.enabled === enabled) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    setBusy(false);
  };
  const label = t("c.bets.cashout");
  return (
    <>
      <Failure p={p ?? err} lang={lang} onProblem={onProblem} />
      {c && (
        <table>
          <tbody>
            <tr data-switch="cashout" data-open={String(c.enabled)}>
              <th scope="row">{label}</th>
              <td className="state">{c.enabled ? t("c.bets.open") : t("c.bets.closed")}</td>
              <td><button type="button" disabled={busy} onClick={() => flip(!c.enabled)}>{c.enabled ? t("c.bets.turnOff", { what: label }) : t("c.bets.turnOn", { what: label })}</button></td>
            </tr>
          </tbody>
        </table>
      )}
      {c && <p className="hint">{t("c.bets.cashoutMargin", { margin: (c.margin_bp / 100).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB"), seconds: c.validity_ms / 1000 })}</p>}
    </>
  );
}

// The market board: every fixture of the sport with its market's state (open, suspended with
// the reason, closed), the live score, and betting on that fixture open or closed by the
// fixture switch (POST /admin/v1/bets/switches {scope: "fixture"}). Read every 3 s; after a
// switch, read again until a node shows it (the read may come from a node behind the leader).
function BoardPage({ s, t, lang, onProblem }: PageProps) {
  const [fixtures, setFixtures] = useState<Fixture[]>();
  const [markets, setMarkets] = useState<Record<string, Market>>({});
  const [loadErr, setLoadErr] = useState(false);
  const [sw0, p, reloadSw] = useLoad(() => adminGet<Switches>(s, SPORT, "bets/switches"));
  const [fresh, setFresh] = useState<Switches>();
  const sw = fresh ?? sw0;
  const [err, setErr] = useState<Problem>();
  const [busy, setBusy] = useState<string>();
  useEffect(() => {
    let live = true;
    const look = async () => {
      try {
        const [f, m] = await Promise.all([
          listAll<Fixture>(`/api/${SPORT}/v1/fixtures`, 500),
          listAll<Market>(`/api/${SPORT}/v1/markets`, 1000),
        ]);
        if (!live) return;
        setFixtures(f.filter((x) => x.status !== "cancelled").sort((a, b) => a.kickoff.localeCompare(b.kickoff) || a.id.localeCompare(b.id)));
        setMarkets(Object.fromEntries(m.map((x) => [x.fixture, x])));
        setLoadErr(false);
      } catch {
        if (live) setLoadErr(true);
      }
    };
    look();
    const timer = setInterval(() => { look(); reloadSw(); }, 3000);
    return () => { live = false; clearInterval(timer); };
  }, [reloadSw]);
  const closedSet = new Set(Object.keys(sw?.fixtures_closed ?? {}));
  const flip = async (fixture: string, open: boolean) => {
    setBusy(fixture);
    const r = await adminPost(s, SPORT, "bets/switches", { scope: "fixture", fixture, open });
    if (!r.ok) setErr(r.problem);
    else {
      setErr(undefined);
      for (let i = 0; i < 25; i++) {
        const g = await adminGet<Switches>(s, SPORT, "bets/switches");
        if (g.ok) setFresh(g.value);
        if (g.ok && !(fixture in (g.value.fixtures_closed ?? {})) === open) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    setBusy(undefined);
  };
  const state = (m?: Market) => {
    if (!m) return t("c.board.nomarket");
    const st = t(`c.board.${m.status}`);
    return m.status === "suspended" && m.reason ? `${st} (${m.reason})` : st;
  };
  return (
    <>
      <Failure p={p ?? err} lang={lang} onProblem={onProblem} />
      {loadErr && <Alert>{t("c.err.unavailable")}</Alert>}
      {!fixtures && !loadErr && <p>{t("c.loading")}</p>}
      {fixtures && (fixtures.length === 0 ? <p>{t("c.board.empty")}</p> : (
        <table className="console-board">
          <caption>{t("c.board.caption", { n: fixtures.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("c.board.fixture")}</th><th scope="col">{t("c.board.kickoff")}</th>
              <th scope="col">{t("c.board.score")}</th><th scope="col">{t("c.board.market")}</th>
              <th scope="col">{t("c.board.betting")}</th><th scope="col"><span className="sr-only">{t("c.board.action")}</span></th>
            </tr>
          </thead>
          <tbody>
            {fixtures.map((f) => {
              const m = markets[f.id];
              const open = !closedSet.has(f.id);
              const label = `${f.home} – ${f.away}`;
              return (
                <tr key={f.id} data-fixture={f.id} data-market={m?.status ?? "none"} data-betting={open ? "open" : "closed"}>
                  <th scope="row">{label} <small>({f.id})</small></th>
                  <td>{new Date(f.kickoff).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "short", timeStyle: "short" })}</td>
                  <td>{m?.live ? `${m.live.home_goals} – ${m.live.away_goals} (${m.live.minute}′)` : "—"}</td>
                  <td className="market-state">{state(m)}</td>
                  <td className="betting">{open ? t("c.bets.open") : t("c.bets.closed")}</td>
                  <td>
                    <button type="button" disabled={busy !== undefined} onClick={() => flip(f.id, !open)}>
                      {open ? t("c.bets.turnOff", { what: label }) : t("c.bets.turnOn", { what: label })}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ))}
    </>
  );
}

interface Liability { fixture: string; exposure: number; cap: number; outcomes: { market: string; line?: number | string; outcome: string; exposure: number; cap: number }[] }

function LiabilityPage({ s, t, lang, onProblem }: PageProps) {
  const [fixtures, setFixtures] = useState<string[]>([]);
  const [fixture, setFixture] = useState("");
  const [l, setL] = useState<Liability>();
  const [p, setP] = useState<Problem>();
  useEffect(() => {
    fetch(`/api/${SPORT}/v1/markets?status=open&limit=1000`).then((r) => r.json()).then((j: { items: { fixture: string }[] }) => {
      const ids = [...new Set(j.items.map((m) => m.fixture))].sort();
      setFixtures(ids);
      setFixture((f) => f || ids[0] || "");
    }).catch(() => setFixtures([]));
  }, []);
  const show = async (e: FormEvent) => {
    e.preventDefault();
    const r = await adminGet<Liability>(s, SPORT, `fixtures/${encodeURIComponent(fixture)}/liability`);
    if (r.ok) { setL(r.value); setP(undefined); } else { setL(undefined); setP(r.problem); }
  };
  return (
    <>
      <form onSubmit={show} className="console-form">
        <label>{t("c.liab.fixture")}{" "}
          <select name="fixture" value={fixture} onChange={(e) => setFixture(e.target.value)}>
            {fixtures.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
        </label>
        <button type="submit">{t("c.liab.show")}</button>
      </form>
      <Failure p={p} lang={lang} onProblem={onProblem} />
      {l && (
        <div data-liability={l.fixture}>
          <p className="total">{t("c.liab.total", { exposure: cents(lang, l.exposure), cap: cents(lang, l.cap) })}</p>
          {l.outcomes.length === 0 ? <p>{t("c.liab.empty")}</p> : (
            <table>
              <caption>{t("c.liab.table")}</caption>
              <thead><tr><th scope="col">{t("c.liab.market")}</th><th scope="col">{t("c.liab.outcome")}</th><th scope="col">{t("c.liab.exposure")}</th><th scope="col">{t("c.liab.cap")}</th></tr></thead>
              <tbody>
                {l.outcomes.map((o, i) => (
                  <tr key={i}>
                    <th scope="row">{o.market}{o.line !== undefined ? ` ${o.line}` : ""}</th>
                    <td>{o.outcome}</td><td>{cents(lang, o.exposure)}</td><td>{cents(lang, o.cap)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </>
  );
}

// The KYC review queue (accounts cluster): the players of one identity-check status (manual
// review by default), each with its last check, and a decision (verified, declined, retry) with
// a reason kept in the player's history (POST /admin/v1/players/{id}/kyc). After a decision the
// queue is read again until the player has left it (the read may come from a node behind).
interface KycEntry { at: string; source: string; status: string; detail?: string }
interface QueuedPlayer { id: string; email: string; created_at: string; kyc_status?: string; kyc_history?: KycEntry[] }
const KYC_STATUSES = ["manual_review", "pending", "retry", "declined", "none"] as const;

function KycPage({ s, t, lang, onProblem }: PageProps) {
  const [status, setStatus] = useState<(typeof KYC_STATUSES)[number]>("manual_review");
  const [items, p, reload] = useLoad<QueuedPlayer[]>(async () => {
    const r = await adminGet<{ items: QueuedPlayer[]; next: string | null }>(s, "accounts", `players?kyc=${status}&limit=100`);
    return r.ok ? { ok: true, value: r.value.items } : r;
  });
  useEffect(reload, [status, reload]);
  // Read again every 3 s: another operator's decisions, new checks, a node that was behind.
  useEffect(() => { const id = setInterval(reload, 3000); return () => clearInterval(id); }, [reload]);
  const [done, setDone] = useState<string>();
  const [err, setErr] = useState<Problem>();
  const [busy, setBusy] = useState<string>();
  const decide = async (e: FormEvent<HTMLFormElement>, id: string) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const decision = String(f.get("decision"));
    setBusy(id);
    const r = await adminPost(s, "accounts", `players/${encodeURIComponent(id)}/kyc`, { status: decision, reason: String(f.get("reason")).trim() });
    if (!r.ok) setErr(r.problem);
    else {
      setErr(undefined);
      setDone(t("c.kyc.done", { id, status: t(`c.kyc.s.${decision as "verified" | "declined" | "retry"}`) }));
      for (let i = 0; i < 25; i++) {
        const g = await adminGet<{ items: QueuedPlayer[] }>(s, "accounts", `players?kyc=${status}&limit=100`);
        if (g.ok && !g.value.items.some((x) => x.id === id)) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      reload();
    }
    setBusy(undefined);
  };
  return (
    <>
      <label>{t("c.kyc.status")}{" "}
        <select value={status} onChange={(e) => setStatus(e.target.value as (typeof KYC_STATUSES)[number])}>
          {KYC_STATUSES.map((k) => <option key={k} value={k}>{t(`c.kyc.s.${k}`)}</option>)}
        </select>
      </label>
      <Failure p={p ?? err} lang={lang} onProblem={onProblem} />
      {done && <p role="status" className="kyc-done">{done}</p>}
      {!items && !p && <p>{t("c.loading")}</p>}
      {items && (items.length === 0 ? <p className="kyc-empty">{t("c.kyc.empty")}</p> : (
        <ul className="console-kyc">
          {items.map((x) => {
            const last = x.kyc_history?.[x.kyc_history.length - 1];
            return (
              <li key={x.id} data-player={x.id}>
                <h3>{x.email} <small>({x.id})</small></h3>
                <p>{t("c.kyc.since", { at: new Date(x.created_at).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB") })}</p>
                {last && <p className="kyc-last">{t("c.kyc.last", { source: last.source, status: last.status, detail: last.detail ?? "—" })}</p>}
                <form className="console-form" onSubmit={(e) => decide(e, x.id)} aria-label={t("c.kyc.decideFor", { email: x.email })}>
                  <label>{t("c.kyc.decision")}{" "}
                    <select name="decision" defaultValue="verified">
                      {(["verified", "declined", "retry"] as const).map((d) => <option key={d} value={d}>{t(`c.kyc.s.${d}`)}</option>)}
                    </select>
                  </label>
                  <label>{t("c.kyc.reason")} <input name="reason" required minLength={3} maxLength={500} /></label>
                  <button type="submit" disabled={busy !== undefined}>{t("c.kyc.submit")}</button>
                </form>
              </li>
            );
          })}
        </ul>
      ))}
    </>
  );
}
