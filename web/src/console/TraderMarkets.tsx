// Per-market trader controls on the trader page of a fixture: the markets with settings of their
// own (line moved, lean, cap, suspended or open), a form to change one market, and each
// market's own history. The form sends only what differs from the market's settings
// (traderMarket.ts); the page (Trader.tsx) posts it and reads the settings again.
import { useState, type FormEvent } from "react";
import type { T } from "./ui";
import type { ConsoleLang } from "./messages";
import {
  FOOTBALL_MARKETS, NEUTRAL, buildMarketChange, capInput, lineText, marketChange, marketHistory, marketName, marketRow,
  marketRule, marketsWithSettings, sideName, type MarketForm, type MarketsView,
} from "./traderMarket";

interface Props {
  fixture: string;
  v?: MarketsView;
  t: T;
  lang: ConsoleLang;
  busy: boolean;
  send: (body: Record<string, unknown>) => void;
  refuse: (code: string) => void;
}

export function TraderMarkets({ fixture, v, t, lang, busy, send, refuse }: Props) {
  const [market, setMarket] = useState("total_goals");
  const shown = marketsWithSettings(v);
  const cur = v?.markets?.[market] ?? NEUTRAL;
  const rule = marketRule(market);
  const id = (s: string) => `tm-${s}`;
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const str = (k: string) => { const x = f.get(k); return x === null ? undefined : String(x); };
    const form: MarketForm = {
      market,
      line: str("line_move"),
      leanOutcome: str("lean_outcome"),
      leanBp: str("lean_bp"),
      cap: str("max_stake") ?? "0",
      state: str("state") === "suspended" ? "suspended" : "open",
      reason: str("reason") ?? "",
    };
    const b = buildMarketChange(form, cur);
    if (!b.ok) refuse(b.code);
    else send(b.body);
  };
  const names = [...FOOTBALL_MARKETS.map((m) => m.name), ...shown.filter((n) => !FOOTBALL_MARKETS.some((m) => m.name === n))];
  return (
    <section className="trader-markets" aria-labelledby={id("title")}>
      <h3 id={id("title")}>{t("c.tm.title")}</h3>
      {!shown.length ? <p className="tm-none">{t("c.tm.none")}</p> : (
        <table className="trader-markets-state">
          <caption>{t("c.tm.caption", { fixture })}</caption>
          <thead><tr><th scope="col">{t("c.tm.market")}</th><th scope="col">{t("c.tm.line")}</th><th scope="col">{t("c.tm.lean")}</th>
            <th scope="col">{t("c.tm.cap")}</th><th scope="col">{t("c.tm.state")}</th></tr></thead>
          <tbody>
            {shown.map((m) => {
              const r = marketRow(lang, m, v!.markets[m]);
              return (
                <tr key={m} data-market={m} data-suspended={String(r.suspended)}>
                  <th scope="row">{r.name}</th>
                  <td className="line">{r.line}</td>
                  <td className="lean">{r.lean}</td>
                  <td className="cap">{r.cap}</td>
                  <td className="state">{r.state}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <form className="console-form trader-market-form" onSubmit={submit} aria-labelledby={id("form")} data-market={market}>
        <h4 id={id("form")}>{t("c.tm.form")}</h4>
        <label>{t("c.tm.select")}{" "}
          <select name="market" value={market} onChange={(e) => setMarket(e.target.value)}>
            {names.map((n) => <option key={n} value={n}>{marketName(lang, n)}</option>)}
          </select>
        </label>
        {/* Remounted with the market's settings when the market or its settings change (the
            reason is cleared once a change is read back). */}
        <div key={`${market}:${v?.changes ?? 0}`} className="tm-fields">
        {rule.line ? (
          <label>{t("c.tm.lineField", { step: lineText(lang, rule.line.stepQ).replace("+", ""), max: lineText(lang, rule.line.maxQ).replace("+", "") })}{" "}
            <input name="line_move" type="number" step={rule.line.stepQ / 4} defaultValue={(cur.line_move_q ?? 0) / 4} required />
          </label>
        ) : <p className="tm-no-line">{t("c.tm.noLine")}</p>}
        {rule.sides ? (
          <>
            <label>{t("c.tm.leanOutcome")}{" "}
              <select name="lean_outcome" defaultValue={cur.lean?.outcome ?? rule.sides[0]}>
                {rule.sides.map((o) => <option key={o} value={o}>{sideName(lang, o)}</option>)}
              </select>
            </label>
            <label>{t("c.tm.leanBp")} <input name="lean_bp" type="number" step={1} defaultValue={cur.lean?.bp ?? 0} required /></label>
          </>
        ) : <p className="tm-no-lean">{t("c.tm.noLeanHere")}</p>}
        <label>{t("c.tm.capField")} <input name="max_stake" inputMode="decimal" defaultValue={capInput(lang, cur.max_stake ?? 0)} required /></label>
        <label>{t("c.tm.stateField")}{" "}
          <select name="state" defaultValue={cur.suspended ? "suspended" : "open"}>
            <option value="open">{t("c.tm.keepOpen")}</option>
            <option value="suspended">{t("c.tm.suspend")}</option>
          </select>
        </label>
        <label>{t("c.trader.reason")} <input name="reason" required /></label>
        </div>
        <button type="submit" disabled={busy}>{t("c.tm.apply")}</button>
      </form>
      {shown.map((m) => {
        const hist = marketHistory(v, m);
        return (
          <section key={m} className="trader-market-history" data-market-history={m} aria-labelledby={id(`h-${m}`)}>
            <h4 id={id(`h-${m}`)}>{t("c.tm.history", { market: marketName(lang, m) })}</h4>
            {!hist.length ? <p>{t("c.trader.noHistory")}</p> : (
              <table>
                <caption className="sr-only">{t("c.tm.history", { market: marketName(lang, m) })}</caption>
                <thead><tr><th scope="col">{t("c.trader.n")}</th><th scope="col">{t("c.trader.at")}</th><th scope="col">{t("c.trader.by")}</th>
                  <th scope="col">{t("c.trader.what")}</th><th scope="col">{t("c.trader.reason")}</th></tr></thead>
                <tbody>
                  {hist.map((h) => (
                    <tr key={h.n} data-change={h.n}>
                      <th scope="row">{h.n}</th>
                      <td>{new Date(h.at).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB")}</td>
                      <td>{h.by}</td>
                      <td className="what">{marketChange(lang, h.set)}</td>
                      <td className="why">{h.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      })}
    </section>
  );
}
