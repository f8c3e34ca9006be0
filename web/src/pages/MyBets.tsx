// "Mes paris": the player's open and settled bets (GET /v1/bets of the sport cluster), with
// their status, stake, odds and payout, and the wallet's balance. Loaded on demand (not in the
// first page's JavaScript); kept current from the bet stream (betStream.ts), so a bet's
// acceptance, refusal and settlement, and the balance after it, show up without a reload.
import { useEffect, useRef, useState } from "react";
import { api, ApiError, type Fixture } from "../api";
import { useSession, type Session } from "../auth";
import { listBets, type Bet } from "../bets";
import { isDone, isOpen, mergeBets, newer, openBetStream } from "../betStream";
import type { StreamStatus } from "../stream";
import { getWallet } from "../wallet";
import { ProblemAlert } from "../components";
import { formatPrice } from "../format";
import { useI18n, type Lang, type MessageKey } from "../i18n";
import { formatCents } from "../money";
import { problemMessage, type Problem } from "../problems";
import { onLink } from "../router";
import { legText } from "../BetSlip";
import { CashOut } from "../CashOut";
import { offerFixtures } from "../cashout";
import { parseQuoteEvent } from "../quotes";
import { openStream } from "../stream";

const SPORT = "football";
const locales: Record<Lang, string> = { fr: "fr-FR", en: "en-GB" };

function formatDate(iso: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locales[lang], { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Paris" }).format(d);
}

// The teams of the fixtures the bets name, fetched once each.
const teams = new Map<string, Promise<Pick<Fixture, "home" | "away">>>();
function fixtureTeams(id: string): Promise<Pick<Fixture, "home" | "away">> {
  let p = teams.get(id);
  if (!p) {
    p = api<Fixture>(`/api/${SPORT}/v1/fixtures/${encodeURIComponent(id)}`).catch(() => {
      teams.delete(id);
      return { home: id, away: "" };
    });
    teams.set(id, p);
  }
  return p;
}

const STATUSES = new Set(["pending_hold", "pending", "accepted", "rejected", "settled"]);
const RESULTS = new Set(["won", "lost", "void", "push", "half_won", "half_lost", "cashed_out"]);

// @cashout: the player's token and the quote events seen for the bet's games (an open bet
// shows its live cash-out offer, CashOut.tsx).
export function BetItem({ bet, names, cashout }: { bet: Bet; names: Record<string, Pick<Fixture, "home" | "away">>; cashout?: { token: string; tick: string } }) {
  const { t, lang } = useI18n();
  const settled = bet.status === "settled";
  const status = t(STATUSES.has(bet.status) ? (`bet.status.${bet.status}` as MessageKey) : "bet.status.other");
  const result = settled && bet.result && RESULTS.has(bet.result) ? t(`bet.result.${bet.result}` as MessageKey) : undefined;
  const reason = bet.status === "rejected" && bet.reject_code ? problemMessage({ status: 403, code: bet.reject_code }, lang) : undefined;
  return (
    <li className="bet" data-bet={bet.id} data-status={bet.status} data-result={bet.result}>
      <p className="bet-head">
        <strong>{bet.kind === "accumulator" ? t("mybets.accumulator", { n: bet.legs.length }) : t("mybets.single")}</strong>{" "}
        <span className={`badge bet-status bet-${bet.status}`}>{result ? t("bet.status.result", { status, result }) : status}</span>
      </p>
      <ul className="bet-legs">
        {bet.legs.map((l) => {
          const n = names[l.fixture] ?? { home: l.fixture, away: "" };
          const x = legText({ ...l, home: n.home, away: n.away }, t, lang);
          return (
            <li key={l.fixture}>
              <span className="leg-match">{n.away ? x.match : l.fixture}</span>{" "}
              <span>{t("slip.leg", { market: x.market, sel: x.sel })}</span>{" "}
              <span className="leg-price">{t("slip.price", { price: formatPrice(l.price, lang) })}</span>
              {l.result && RESULTS.has(l.result) && <> — {t(`bet.result.${l.result}` as MessageKey)}</>}
            </li>
          );
        })}
      </ul>
      <dl className="bet-money">
        <div data-field="stake">
          <dt>{t("mybets.stake")}</dt>
          <dd>{formatCents(bet.stake, lang)}</dd>
        </div>
        <div data-field="odds">
          <dt>{t("mybets.odds")}</dt>
          <dd>{formatPrice(bet.odds, lang)}</dd>
        </div>
        {settled ? (
          <div data-field="return">
            <dt>{t("mybets.return")}</dt>
            <dd>{formatCents(bet.return ?? 0, lang)}</dd>
          </div>
        ) : bet.status !== "rejected" ? (
          <div data-field="payout">
            <dt>{t("mybets.payout")}</dt>
            <dd>{formatCents(bet.payout, lang)}</dd>
          </div>
        ) : null}
      </dl>
      {cashout && <CashOut bet={bet} token={cashout.token} tick={cashout.tick} />}
      {reason && <p className="bet-reason">{t("mybets.reason", { reason: t(reason.key, reason.vars) })}</p>}
      <p className="hint">{t("mybets.placed", { date: formatDate(bet.placed_at, lang) })}</p>
    </li>
  );
}

function BetList({ token, status, changed, epoch, ticks }: { token: string; status: "open" | "settled"; changed: Bet[]; epoch: number; ticks: Record<string, number> }) {
  const { t } = useI18n();
  const [items, setItems] = useState<Bet[]>();
  const [next, setNext] = useState<number | null>(null);
  const [more, setMore] = useState<Bet[]>([]);
  const [problem, setProblem] = useState<Problem>();
  const [names, setNames] = useState<Record<string, Pick<Fixture, "home" | "away">>>({});
  useEffect(() => {
    let live = true;
    const load = () =>
      listBets(SPORT, token, status)
        .then((page) => {
          if (!live) return;
          setItems(page.items);
          setNext((n) => (more.length ? n : page.next));
          setProblem(undefined);
        })
        .catch((e) => live && setProblem(e instanceof ApiError ? e.problem : { status: 0, code: "client.network" }));
    void load();
    return () => {
      live = false;
    };
    // `more` is read only to keep the cursor of pages already opened. Read again each time the
    // bet stream (re)opens (`epoch`), so a change made before it was listening is not missed.
  }, [status, epoch]);
  const keep = status === "open" ? isOpen : isDone;
  const all = items ? mergeBets([...items, ...more.filter((b) => !items.some((x) => x.id === b.id))], changed, keep) : [];
  const ids = [...new Set(all.flatMap((b) => b.legs.map((l) => l.fixture)))].filter((id) => !names[id]);
  useEffect(() => {
    if (!ids.length) return;
    let live = true;
    void Promise.all(ids.map((id) => fixtureTeams(id).then((f) => [id, f] as const))).then(
      (got) => live && setNames((n) => ({ ...n, ...Object.fromEntries(got) })),
    );
    return () => {
      live = false;
    };
  }, [ids.join(",")]);
  async function loadMore() {
    if (!next) return;
    try {
      const page = await listBets(SPORT, token, status, next);
      setMore((m) => [...m, ...page.items]);
      setNext(page.next);
    } catch (e) {
      setProblem(e instanceof ApiError ? e.problem : { status: 0, code: "client.network" });
    }
  }
  const title = status === "open" ? "mybets.open" : "mybets.settled";
  return (
    <section aria-labelledby={`bets-${status}`} data-bets={status}>
      <h2 id={`bets-${status}`}>{t(title)}</h2>
      <ProblemAlert problem={problem} />
      {!items && !problem && <p>{t("mybets.loading")}</p>}
      {items && all.length === 0 && <p>{t(status === "open" ? "mybets.empty.open" : "mybets.empty.settled")}</p>}
      {all.length > 0 && (
        <ul className="bets">
          {all.map((b) => (
            <BetItem
              key={b.id}
              bet={b}
              names={names}
              cashout={status === "open" ? { token, tick: offerFixtures(b).map((f) => ticks[f] ?? 0).join(",") } : undefined}
            />
          ))}
        </ul>
      )}
      {next && (
        <p>
          <button type="button" className="link" onClick={() => void loadMore()}>{t("mybets.more")}</button>
        </p>
      )}
    </section>
  );
}

function Body({ session }: { session: Session }) {
  const { t, lang } = useI18n();
  const [changed, setChanged] = useState<Bet[]>([]);
  const [stream, setStream] = useState<StreamStatus>("connecting");
  const [balance, setBalance] = useState<number>();
  const [epoch, setEpoch] = useState(0);
  // Quote events seen per fixture: an open bet's cash-out offer is asked again on each.
  const [ticks, setTicks] = useState<Record<string, number>>({});
  const token = useRef(session.accessToken);
  token.current = session.accessToken;
  useEffect(() => {
    let live = true;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const readBalance = () =>
      getWallet(token.current)
        .then((w) => live && setBalance(w.balance))
        .catch(() => undefined);
    // The accounts node that answers may not have applied the hold's post or void yet when the
    // bet's event arrives: read again a little later, twice.
    const readBalanceSoon = () => {
      void readBalance();
      for (const ms of [1500, 5000]) timers.push(setTimeout(() => live && void readBalance(), ms));
    };
    void readBalance();
    const s = openBetStream({
      sport: SPORT,
      token: () => token.current,
      onStatus: (st) => {
        if (!live) return;
        setStream(st);
        if (st === "open") {
          setEpoch((n) => n + 1);
          void readBalance();
        }
      },
      onBet: (bet, e) => {
        if (!live) return;
        setChanged((c) => {
          const old = c.find((b) => b.id === bet.id);
          if (old && !newer(old, bet)) return c;
          return [...c.filter((b) => b.id !== bet.id), bet];
        });
        // A stake taken or given back, a bet paid: the balance moved.
        if (e.type !== "placed") readBalanceSoon();
      },
    });
    const quotes = openStream({
      url: `/api/${SPORT}/v1/stream/quotes`,
      onEvent: (e) => {
        const ev = parseQuoteEvent(e.event, e.data);
        if (live && ev) setTicks((t) => ({ ...t, [ev.fixture]: (t[ev.fixture] ?? 0) + 1 }));
      },
    });
    return () => {
      live = false;
      timers.forEach(clearTimeout);
      s.close();
      quotes.close();
    };
  }, [session.playerId]);
  return (
    <>
      <p className="mybets-balance" data-balance={balance}>
        {balance !== undefined && t("mybets.balance", { amount: formatCents(balance, lang) })}{" "}
        <span className="hint" role="status">{stream === "reconnecting" ? t("mybets.reconnecting") : ""}</span>
      </p>
      <BetList token={session.accessToken} status="open" changed={changed} epoch={epoch} ticks={ticks} />
      <BetList token={session.accessToken} status="settled" changed={changed} epoch={epoch} ticks={ticks} />
    </>
  );
}

export function MyBetsPage() {
  const { t } = useI18n();
  const session = useSession();
  return (
    <section aria-labelledby="mybets-title" className="mybets">
      <h1 id="mybets-title">{t("mybets.title")}</h1>
      {session ? (
        <Body session={session} />
      ) : (
        <p>
          {t("mybets.signin")} <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
        </p>
      )}
    </section>
  );
}

export default MyBetsPage;
