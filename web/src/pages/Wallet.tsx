// The wallet and the responsible-gambling pages (loaded on demand: not in the first page's
// JavaScript). Amounts are typed in euros, parsed into integer cents (money.ts) and sent so.
import { useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { ApiError } from "../api";
import { useSession, type Session } from "../auth";
import { ProblemAlert } from "../components";
import { useI18n, type Lang, type MessageKey } from "../i18n";
import { centsToInput, formatCents, parseEuros } from "../money";
import type { Problem } from "../problems";
import { navigate, onLink } from "../router";
import {
  LIMIT_NAMES,
  getDeposit,
  getStatement,
  getWallet,
  openDeposit,
  openWithdrawal,
  pollDeposit,
  selfExclude,
  setLimits,
  type Deposit,
  type LimitName,
  type Statement,
  type Wallet,
} from "../wallet";

const locales: Record<Lang, string> = { fr: "fr-FR", en: "en-GB" };

function formatDate(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: "long", timeStyle: "short", timeZone: "Europe/Paris" }).format(d);
}

function asProblem(e: unknown): Problem {
  return e instanceof ApiError ? e.problem : { status: 0, code: "client.network" };
}

// The regulator's message and the 18+ notice, on each money page (as well as in the footer).
function Mandatory() {
  const { t } = useI18n();
  return (
    <aside className="mandatory" aria-label={t("rg.title")}>
      <p><strong className="adult">18+</strong> {t("footer.adult")}</p>
      <p>{t("footer.regulator")}</p>
    </aside>
  );
}

function NeedSession({ children }: { children: (s: Session) => ReactNode }) {
  const { t } = useI18n();
  const session = useSession();
  if (!session)
    return (
      <p>
        {t("wallet.signin")} <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
      </p>
    );
  return <>{children(session)}</>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The wallet, read from any node of the accounts cluster. After a write the node read next may
// not have applied it yet: reload(until) reads again (a few times, briefly) until the wallet
// shows what the write did.
function useWallet(token: string) {
  const [wallet, setWallet] = useState<Wallet>();
  const [problem, setProblem] = useState<Problem>();
  const reload = useCallback(
    async (until?: (w: Wallet) => boolean) => {
      for (let i = 0; ; i++) {
        try {
          const w = await getWallet(token);
          setWallet(w);
          setProblem(undefined);
          if (!until || until(w) || i >= 15) return;
        } catch (e) {
          setProblem(asProblem(e));
          return;
        }
        await pause(200);
      }
    },
    [token],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  return { wallet, problem, reload };
}

// A form's sending state: busy while @action runs, its failure as a problem (or handed to
// @onError, which returns true when it dealt with it).
function useSubmit() {
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (action: () => Promise<void>, onError?: (p: Problem) => boolean) => {
    setBusy(true);
    try {
      await action();
    } catch (err) {
      const p = asProblem(err);
      if (!onError?.(p)) setProblem(p);
    } finally {
      setBusy(false);
    }
  }, []);
  return { problem, setProblem, busy, run };
}

// The wallet read for a page: its problem, or "loading" until the first read.
function WalletState({ wallet, problem }: { wallet?: Wallet; problem?: Problem }) {
  const { t } = useI18n();
  return (
    <>
      <ProblemAlert problem={problem} />
      {!wallet && !problem && <p role="status">{t("wallet.loading")}</p>}
    </>
  );
}

// A money page: its title, the body once signed in, the mandatory notices.
function MoneyPage({ id, title, body }: { id: string; title: MessageKey; body: (s: Session) => ReactNode }) {
  const { t } = useI18n();
  return (
    <section aria-labelledby={id} className="wallet">
      <h1 id={id}>{t(title)}</h1>
      <NeedSession>{body}</NeedSession>
      <Mandatory />
    </section>
  );
}

function AmountField({ id, label, hint, invalid, defaultValue }: { id: string; label: MessageKey; hint?: MessageKey; invalid?: string; defaultValue?: string }) {
  const { t } = useI18n();
  const described = [hint ? `${id}-hint` : "", invalid ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <>
      <label htmlFor={id}>{t(label)}</label>
      <input id={id} name={id} inputMode="decimal" autoComplete="off" defaultValue={defaultValue} aria-invalid={invalid ? true : undefined} aria-describedby={described} />
      {hint && <p className="hint" id={`${id}-hint`}>{t(hint)}</p>}
      {invalid && <p className="field-error" id={`${id}-error`}>{invalid}</p>}
    </>
  );
}

function Balances({ wallet }: { wallet: Wallet }) {
  const { t, lang } = useI18n();
  const rows: [MessageKey, number, string][] = [
    ["wallet.balance", wallet.balance, "balance"],
    ["wallet.available", wallet.available, "available"],
    ["wallet.held", wallet.held, "held"],
    ["wallet.withdrawable", wallet.withdrawable, "withdrawable"],
  ];
  if (wallet.debt > 0) rows.push(["wallet.debt", wallet.debt, "debt"]);
  return (
    <section aria-labelledby="balances-title">
      <h2 id="balances-title">{t("wallet.summary")}</h2>
      <dl className="balances">
        {rows.map(([k, v, name]) => (
          <div key={name} data-balance={name}>
            <dt>{t(k)}</dt>
            <dd>{formatCents(v, lang)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function DepositForm({ token, onSettled }: { token: string; onSettled: () => void }) {
  const { t, lang } = useI18n();
  const [invalid, setInvalid] = useState<string>();
  const { problem, setProblem, busy, run } = useSubmit();
  const [deposit, setDeposit] = useState<Deposit>();
  const [gaveUp, setGaveUp] = useState(false);
  const poll = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => poll.current?.abort(), []);
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const cents = parseEuros(String(new FormData(e.currentTarget).get("deposit-amount") ?? ""));
    setProblem(undefined);
    setGaveUp(false);
    if (cents === null) return setInvalid(t("amount.invalid"));
    setInvalid(undefined);
    poll.current?.abort();
    await run(async () => {
      const opened = await openDeposit(token, cents);
      const d: Deposit = { id: opened.deposit_id, amount: opened.amount, status: opened.status, url: opened.url };
      setDeposit(d);
      // The provider's page in a new tab; the link below stays if the browser blocked it.
      window.open(opened.url, "_blank", "noopener");
      const ctl = new AbortController();
      poll.current = ctl;
      void pollDeposit((signal) => getDeposit(token, d.id, signal), (u) => setDeposit({ ...u, url: d.url }), ctl.signal).then((end) => {
        if (end === "gave_up") setGaveUp(true);
        if (end === "settled") onSettled();
      });
    }, (p) => {
      if (p.code !== "limits_required") return false;
      navigate("/limites?requis=1");
      return true;
    });
  }
  const statusKey = deposit && (`deposit.status.${deposit.status}` as MessageKey);
  return (
    <section aria-labelledby="deposit-title">
      <h2 id="deposit-title">{t("deposit.title")}</h2>
      <ProblemAlert problem={problem} />
      <form id="deposit" onSubmit={onSubmit} noValidate>
        <AmountField id="deposit-amount" label="deposit.amount" hint="deposit.hint" invalid={invalid} />
        <button type="submit" disabled={busy}>{busy ? t("form.busy") : t("deposit.submit")}</button>
      </form>
      <div role="status" aria-live="polite" className="deposit-state" data-deposit-status={deposit?.status}>
        {deposit && deposit.status === "open" && deposit.url && (
          <p>
            {t("deposit.opened", { amount: formatCents(deposit.amount, lang) })}{" "}
            <a href={deposit.url} target="_blank" rel="noopener noreferrer">{t("deposit.link")}</a>
          </p>
        )}
        {deposit && statusKey && <p>{t(statusKey, { amount: formatCents(deposit.amount, lang) })}</p>}
        {gaveUp && <p>{t("deposit.gave_up")}</p>}
      </div>
    </section>
  );
}

function WithdrawForm({ token, onDone }: { token: string; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [invalid, setInvalid] = useState<string>();
  const { problem, setProblem, busy, run } = useSubmit();
  const [done, setDone] = useState<string>();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const cents = parseEuros(String(new FormData(e.currentTarget).get("withdraw-amount") ?? ""));
    setProblem(undefined);
    setDone(undefined);
    if (cents === null) return setInvalid(t("amount.invalid"));
    setInvalid(undefined);
    await run(async () => {
      await openWithdrawal(token, cents);
      setDone(t("withdraw.done", { amount: formatCents(cents, lang) }));
      onDone();
    });
  }
  return (
    <section aria-labelledby="withdraw-title">
      <h2 id="withdraw-title">{t("withdraw.title")}</h2>
      <ProblemAlert problem={problem} />
      {done && <p className="notice" role="status">{done}</p>}
      <form id="withdraw" onSubmit={onSubmit} noValidate>
        <AmountField id="withdraw-amount" label="withdraw.amount" invalid={invalid} />
        <button type="submit" disabled={busy}>{busy ? t("form.busy") : t("withdraw.submit")}</button>
      </form>
    </section>
  );
}

const KINDS = new Set(["deposit", "withdrawal", "payout_sent", "stake", "payout", "refund", "chargeback", "debt_repay", "correction"]);

function StatementTable({ token, version }: { token: string; version: number }) {
  const { t, lang } = useI18n();
  const [before, setBefore] = useState<number[]>([]); // the pages seen: their `before` cursors
  const [page, setPage] = useState<Statement>();
  const [problem, setProblem] = useState<Problem>();
  const cursor = before[before.length - 1];
  useEffect(() => {
    let live = true;
    const load = () =>
      getStatement(token, cursor)
        .then((s) => live && (setPage(s), setProblem(undefined)))
        .catch((e) => live && setProblem(asProblem(e)));
    void load();
    // After a change the node read may lag the one that saw it by a moment: read once more.
    const again = version > 0 ? setTimeout(() => void load(), 1500) : undefined;
    return () => {
      live = false;
      clearTimeout(again);
    };
  }, [token, cursor, version]);
  return (
    <section aria-labelledby="statement-title">
      <h2 id="statement-title">{t("statement.title")}</h2>
      <ProblemAlert problem={problem} />
      {page && page.items.length === 0 && <p>{t("statement.empty")}</p>}
      {page && page.items.length > 0 && (
        <table className="statement">
          <caption>{t("statement.caption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("statement.date")}</th>
              <th scope="col">{t("statement.what")}</th>
              <th scope="col" className="num">{t("statement.amount")}</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((tr) => (
              <tr key={`${tr.id}:${tr.position}`} data-kind={tr.kind}>
                <td>{formatDate(tr.at, lang)}</td>
                <td>
                  {t(KINDS.has(tr.kind) ? (`kind.${tr.kind}` as MessageKey) : "kind.other")}
                  {tr.pending && <> {t("statement.pending")}</>}
                </td>
                <td className="num">{formatCents(tr.signed_amount, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="pager">
        {before.length > 0 && (
          <button type="button" className="link" onClick={() => setBefore([])}>{t("statement.newest")}</button>
        )}{" "}
        {page?.next && (
          <button type="button" className="link" onClick={() => setBefore([...before, page.next!])}>{t("statement.more")}</button>
        )}
      </p>
    </section>
  );
}

function WalletBody({ session }: { session: Session }) {
  const { t, lang } = useI18n();
  const { wallet, problem, reload } = useWallet(session.accessToken);
  const seen = useRef<Wallet | undefined>(undefined);
  seen.current = wallet;
  const [version, setVersion] = useState(0);
  // A deposit credited or a withdrawal taken: read until the balances moved, then the
  // statement again.
  const changed = useCallback(() => {
    const before = seen.current;
    void reload((w) => !before || w.balance !== before.balance || w.held !== before.held || w.available !== before.available).then(() =>
      setVersion((v) => v + 1),
    );
  }, [reload]);
  return (
    <>
      <WalletState wallet={wallet} problem={problem} />
      {wallet && (
        <>
          {wallet.excluded_until && <p className="notice">{t("wallet.excluded", { date: formatDate(wallet.excluded_until, lang) })}</p>}
          {wallet.limits.deposit_7d === undefined && (
            <p className="notice">
              {t("wallet.nolimits")} <a href="/limites" onClick={onLink}>{t("limits.title")}</a>
            </p>
          )}
          <Balances wallet={wallet} />
          <DepositForm token={session.accessToken} onSettled={changed} />
          {!wallet.verified && (
            <p className="notice">
              {t("wallet.unverified")} <a href="/identite" onClick={onLink}>{t("identity.link")}</a>
            </p>
          )}
          <WithdrawForm token={session.accessToken} onDone={changed} />
        </>
      )}
      <StatementTable token={session.accessToken} version={version} />
    </>
  );
}

export function WalletPage() {
  return <MoneyPage id="wallet-title" title="wallet.title" body={(s) => <WalletBody session={s} />} />;
}

function LimitsForm({ token, wallet, onSaved }: { token: string; wallet: Wallet; onSaved: (saved: Partial<Record<LimitName, number>>) => Promise<void> }) {
  const { t, lang } = useI18n();
  const [invalid, setInvalid] = useState<Partial<Record<LimitName, string>>>({});
  const { problem, setProblem, busy, run } = useSubmit();
  const [saved, setSaved] = useState(false);
  const first = wallet.limits.deposit_7d === undefined;
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const body: Partial<Record<LimitName, number>> = {};
    const bad: Partial<Record<LimitName, string>> = {};
    for (const n of LIMIT_NAMES) {
      const raw = String(form.get(`limit-${n}`) ?? "").trim();
      if (!raw) {
        if (n !== "auto_withdraw" && wallet.limits[n] === undefined) bad[n] = t("limits.missing");
        continue;
      }
      const cents = parseEuros(raw);
      if (cents === null) bad[n] = t("limits.invalid", { field: t(`limits.${n}`) });
      else if (cents !== wallet.limits[n]) body[n] = cents;
    }
    setInvalid(bad);
    setSaved(false);
    setProblem(undefined);
    if (Object.keys(bad).length) {
      document.getElementById(`limit-${Object.keys(bad)[0]}`)?.focus();
      return;
    }
    if (!Object.keys(body).length) return setSaved(true);
    await run(async () => {
      await setLimits(token, body);
      await onSaved(body);
      setSaved(true);
    });
  }
  return (
    <section aria-labelledby="limits-form-title">
      <h2 id="limits-form-title">{t("limits.title")}</h2>
      <p>{t("limits.intro")}</p>
      <p className="rule"><strong>{t("limits.rule")}</strong></p>
      <ProblemAlert problem={problem} />
      {saved && <p className="notice" role="status">{t("limits.saved")}</p>}
      <form id="limits" onSubmit={onSubmit} noValidate>
        {LIMIT_NAMES.map((n) => {
          const cur = wallet.limits[n];
          const pend = wallet.pending_raises[n];
          return (
            <div key={n} className="limit" data-limit={n}>
              <AmountField
                id={`limit-${n}`}
                label={`limits.${n}` as MessageKey}
                hint={n === "auto_withdraw" ? "limits.auto_withdraw.hint" : undefined}
                invalid={invalid[n]}
                defaultValue={first || cur === undefined ? "" : centsToInput(cur, lang)}
              />
              <p className="current" data-current={cur ?? ""}>
                {cur === undefined ? t("limits.none") : t("limits.current", { amount: formatCents(cur, lang) })}
              </p>
              {pend && (
                <p className="pending" data-pending={pend.value}>
                  {t("limits.pending", { amount: formatCents(pend.value, lang), date: formatDate(pend.from, lang) })}
                </p>
              )}
            </div>
          );
        })}
        <button type="submit" disabled={busy}>{busy ? t("form.busy") : t("limits.submit")}</button>
      </form>
    </section>
  );
}

const DURATIONS = [24, 168, 720, 2160, 4380, 8760];

function SelfExclusion({ token, onDone }: { token: string; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [hours, setHours] = useState<number>();
  const { problem, setProblem, busy, run } = useSubmit();
  const [until, setUntil] = useState<string>();
  const confirmRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (hours) confirmRef.current?.focus();
  }, [hours]);
  async function confirm() {
    if (!hours) return;
    setProblem(undefined);
    await run(async () => {
      const r = await selfExclude(token, hours);
      const u = (r as { excluded_until?: string } | null)?.excluded_until;
      setUntil(u ?? new Date(Date.now() + hours * 3600_000).toISOString());
      setHours(undefined);
      onDone();
    });
  }
  return (
    <section aria-labelledby="exclusion-title">
      <h2 id="exclusion-title">{t("exclusion.title")}</h2>
      <p>{t("exclusion.intro")}</p>
      <ProblemAlert problem={problem} />
      {until && <p className="notice" role="status">{t("exclusion.done", { date: formatDate(until, lang) })}</p>}
      <form
        id="exclusion"
        onSubmit={(e) => {
          e.preventDefault();
          setHours(Number(new FormData(e.currentTarget).get("exclusion-hours")));
        }}
      >
        <label htmlFor="exclusion-hours">{t("exclusion.duration")}</label>
        <select id="exclusion-hours" name="exclusion-hours" defaultValue="24">
          {DURATIONS.map((h) => (
            <option key={h} value={h}>{t(`exclusion.${h}` as MessageKey)}</option>
          ))}
        </select>
        <button type="submit" disabled={busy || hours !== undefined}>{t("exclusion.submit")}</button>
      </form>
      {hours !== undefined && (
        <div className="confirm" role="alertdialog" aria-labelledby="exclusion-confirm-text" tabIndex={-1} ref={confirmRef}>
          <p id="exclusion-confirm-text">{t("exclusion.confirm", { duration: t(`exclusion.${hours}` as MessageKey) })}</p>
          <button type="button" className="danger" onClick={() => void confirm()} disabled={busy}>{t("exclusion.yes")}</button>{" "}
          <button type="button" onClick={() => setHours(undefined)}>{t("exclusion.no")}</button>
        </div>
      )}
    </section>
  );
}

function LimitsBody({ session }: { session: Session }) {
  const { t } = useI18n();
  const { wallet, problem, reload } = useWallet(session.accessToken);
  const required = new URLSearchParams(window.location.search).has("requis");
  return (
    <>
      {required && <p className="notice" role="status">{t("limits.required")}</p>}
      <WalletState wallet={wallet} problem={problem} />
      {wallet && (
        <LimitsForm
          token={session.accessToken}
          wallet={wallet}
          // A lowered (or first) limit applies at once, a raise is pending for 48 hours.
          onSaved={(saved) =>
            reload((w) => (Object.keys(saved) as LimitName[]).every((n) => w.limits[n] === saved[n] || w.pending_raises[n]?.value === saved[n]))
          }
        />
      )}
      {wallet && <SelfExclusion token={session.accessToken} onDone={() => void reload()} />}
      <p><a href="/portefeuille" onClick={onLink}>{t("nav.wallet")}</a></p>
    </>
  );
}

export function LimitsPage() {
  return <MoneyPage id="limits-title" title="rg.title" body={(s) => <LimitsBody session={s} />} />;
}

export default WalletPage;
