import type { Fixture, Market } from "../api";
import { MarketStatus, PickButton, ProblemAlert } from "../components";
import { formatKickoff } from "../format";
import { useI18n } from "../i18n";
import { mainPrices, type Move } from "../quotes";
import { onLink } from "../router";
import { useQuotes } from "../useQuotes";

const ORDER: Record<string, number> = { live: 0, scheduled: 1, postponed: 2, finished: 3, cancelled: 4 };

export function FixtureRow({ f, m, move }: { f: Fixture; m?: Market; move?: Move }) {
  const { t, lang } = useI18n();
  const prices = mainPrices(m?.prices);
  const live = m?.live;
  const shown = m && m.status !== "pending" && prices;
  const statusKey = `board.${f.status}` as "board.live";
  return (
    <li className="fixture" data-fixture={f.id} data-status={m?.status ?? "pending"}>
      <div className="fixture-head">
        <a href={`/match/${encodeURIComponent(f.id)}`} onClick={onLink} className="teams">
          {f.home} – {f.away}
        </a>
        <span className="meta">
          {f.status === "live" ? <span className="live">{t("board.live")}</span> : <span>{t(statusKey)}</span>}{" "}
          {live && (live.in_play || live.ended) ? (
            <span className="score">{live.home_goals}–{live.away_goals}</span>
          ) : (
            <span>{t("board.kickoff", { time: formatKickoff(f.kickoff, lang) })}</span>
          )}{" "}
          <span className="competition">{f.competition}</span>
        </span>
      </div>
      <div className="prices" role="group" aria-label={t("market.caption", { home: f.home, away: f.away })}>
        {shown &&
          (["home", "draw", "away"] as const).map((k) => (
            <span key={k} className={`outcome${m.status === "suspended" ? " suspended" : ""}`} data-outcome={k}>
              <span className="outcome-label" aria-hidden="true">{t(`outcome.${k}`)}</span>
              <PickButton
                f={f}
                m={m}
                market="1x2"
                outcome={k}
                milli={prices[k]}
                dir={move?.dirs[k]}
                label={t(`outcome.${k}.long`, { team: k === "home" ? f.home : f.away })}
              />
            </span>
          ))}
        <MarketStatus market={m} />
      </div>
    </li>
  );
}

export function Board() {
  const { t } = useI18n();
  const { state, status, problem, lastId } = useQuotes("football");
  const fixtures = Object.values(state.fixtures).sort(
    (a, b) => (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || a.kickoff.localeCompare(b.kickoff) || a.id.localeCompare(b.id),
  );
  return (
    <section aria-labelledby="board-title">
      <h1 id="board-title">{t("board.title")}</h1>
      <p className={`stream stream-${status}`} role="status" data-stream={status} data-last-id={lastId}>
        {t(status === "open" ? "board.stream.open" : status === "connecting" ? "board.stream.connecting" : "board.stream.reconnecting")}
      </p>
      <ProblemAlert problem={problem} />
      {!state.loaded && !problem && <p>{t("board.loading")}</p>}
      {state.loaded && fixtures.length === 0 && <p>{t("board.empty")}</p>}
      <ul className="fixtures" aria-live="off">
        {fixtures.map((f) => (
          <FixtureRow key={f.id} f={f} m={state.markets[f.id]} move={state.moves[f.id]} />
        ))}
      </ul>
    </section>
  );
}
