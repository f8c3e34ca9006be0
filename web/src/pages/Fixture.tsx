import { MarketStatus, PickButton, ProblemAlert } from "../components";
import { useI18n } from "../i18n";
import { marketTables } from "../markets";
import { onLink } from "../router";
import { useQuotes } from "../useQuotes";
import { FixtureRow } from "./Board";

export function FixturePage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { state, problem } = useQuotes("football", id);
  const f = state.fixtures[id];
  const m = state.markets[id];
  const tables = f && m?.prices && m.status !== "pending" ? marketTables(m.prices, f, t, lang) : [];
  const suspended = m?.status === "suspended";
  return (
    <section aria-labelledby="fixture-title">
      <p>
        <a href="/" onClick={onLink}>← {t("fixture.back")}</a>
      </p>
      <h1 id="fixture-title">{f ? `${f.home} – ${f.away}` : id}</h1>
      <ProblemAlert problem={problem} />
      {f && (
        <ul className="fixtures">
          <FixtureRow f={f} m={m} move={state.moves[id]} />
        </ul>
      )}
      {f && (
        <>
          <h2>{t("fixture.markets")}</h2>
          <MarketStatus market={m} />
          {state.loaded && tables.length === 0 && <p>{t("fixture.nomarkets")}</p>}
          <div className="markets">
            {tables.map((tb) => (
              <table key={tb.key} className={`market${suspended ? " suspended" : ""}`} data-market={tb.key}>
                <caption>{tb.title}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("fixture.outcome")}</th>
                    <th scope="col">{t("fixture.price")}</th>
                  </tr>
                </thead>
                <tbody>
                  {tb.rows.map((r) => (
                    <tr key={r.id}>
                      <th scope="row">{r.label}</th>
                      <td><PickButton f={f} m={m} market={r.market} line={r.line} outcome={r.outcome} milli={r.milli} label={`${tb.title} : ${r.label}`} className="pick-cell" /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ))}
          </div>
        </>
      )}
    </section>
  );
}
