// Trader controls per fixture (POST|GET /admin/v1/fixtures/{id}/trader on the sport cluster):
// the current state (suspended or open, margin shift, lean, maximum stake) and the history of
// changes with who and why; suspend or reopen with a reason; the pricing settings with a reason.
// Below them, the per-market settings (TraderMarkets.tsx). Refusals are translated from their
// code. After a change (answered by the leader) the settings are read again until a node shows
// that change (the read may come from a node behind).
import { useEffect, useState, type FormEvent } from "react";
import { listAll, type Fixture } from "../api";
import { adminGet, adminPost, type Problem } from "./api";
import { euros, traderChange, type TraderSet } from "./figures";
import { TraderMarkets } from "./TraderMarkets";
import { capCents, capInput, type MarketsView } from "./traderMarket";
import { Failure, SPORT, useLoad, type PageProps } from "./ui";

interface TraderChange { n: number; entry: number; at: string; by: string; reason: string; set: TraderSet }
interface TraderSettings {
  fixture: string; margin_shift_bp: number; market_shift_bp: Record<string, number>;
  lean: { outcome: "home" | "draw" | "away"; bp: number } | null; suspended: boolean; max_stake: number;
  changes: number; history?: TraderChange[]; change?: TraderChange; markets?: MarketsView;
}
// A fixture-wide change answers the settings (changes: its n); a market's change answers
// {fixture, market, settings, change}, numbered apart (markets.changes in GET).
interface MarketAnswer { market: string; change: { n: number } }

// Whether @a is at least as new as @b on both counts of changes.
const atLeast = (a: TraderSettings, b: TraderSettings) => a.changes >= b.changes && (a.markets?.changes ?? 0) >= (b.markets?.changes ?? 0);

export function TraderPage({ s, t, lang, onProblem }: PageProps) {
  const [fixtures, setFixtures] = useState<Fixture[]>();
  const [fixture, setFixture] = useState("");
  useEffect(() => {
    listAll<Fixture>(`/api/${SPORT}/v1/fixtures`, 500).then((f) => {
      const live = f.filter((x) => x.status !== "cancelled" && x.status !== "finished")
        .sort((a, b) => a.kickoff.localeCompare(b.kickoff) || a.id.localeCompare(b.id));
      setFixtures(live);
      setFixture((cur) => cur || live[0]?.id || "");
    }).catch(() => setFixtures([]));
  }, []);
  return (
    <>
      <label>{t("c.trader.fixture")}{" "}
        <select value={fixture} onChange={(e) => setFixture(e.target.value)}>
          {(fixtures ?? []).map((f) => <option key={f.id} value={f.id}>{`${f.home} – ${f.away} (${f.id})`}</option>)}
        </select>
      </label>
      {!fixtures && <p>{t("c.loading")}</p>}
      {fixture && <TraderFixture key={fixture} s={s} t={t} lang={lang} onProblem={onProblem} fixture={fixture} />}
    </>
  );
}

function TraderFixture({ s, t, lang, onProblem, fixture }: PageProps & { fixture: string }) {
  const path = `fixtures/${encodeURIComponent(fixture)}/trader`;
  const [v0, p, reload] = useLoad(() => adminGet<TraderSettings>(s, SPORT, path));
  const [fresh, setFresh] = useState<TraderSettings>();
  const v = fresh && (!v0 || atLeast(fresh, v0)) ? fresh : v0;
  const [err, setErr] = useState<Problem>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => { const id = setInterval(reload, 3000); return () => clearInterval(id); }, [reload]);

  const send = async (body: Record<string, unknown>, form?: HTMLFormElement) => {
    setBusy(true);
    setDone(undefined);
    const r = await adminPost<TraderSettings | MarketAnswer>(s, SPORT, path, body);
    if (!r.ok) setErr(r.problem);
    else {
      setErr(undefined);
      form?.reset();
      const m = "market" in r.value ? r.value : undefined;
      const n = m ? m.change.n : (r.value as TraderSettings).changes;
      const seen = (g: TraderSettings) => (m ? g.markets?.changes ?? 0 : g.changes) >= n;
      for (let i = 0; i < 25; i++) {
        const g = await adminGet<TraderSettings>(s, SPORT, path);
        if (g.ok && seen(g.value)) { setFresh(g.value); break; }
        await new Promise((res) => setTimeout(res, 200));
      }
      setDone(m ? t("c.tm.done", { market: m.market, n }) : t("c.trader.done", { n }));
    }
    setBusy(false);
  };
  const refuse = (code: string) => { setDone(undefined); setErr({ status: 422, code, detail: code }); };
  const reasonOf = (f: FormData) => String(f.get("reason") ?? "").trim();
  const suspend = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    send({ suspended: !v?.suspended, reason: reasonOf(f) }, e.currentTarget);
  };
  const settings = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    // Euros read as text into integer cents (no floating-point product); unreadable: refused here.
    const cap = capCents(String(f.get("max_stake") ?? ""));
    if (cap === null) { refuse("invalid_max_stake"); return; }
    send({
      margin_shift_bp: Number(f.get("margin")),
      lean: { outcome: String(f.get("lean_outcome")), bp: Number(f.get("lean_bp")) },
      max_stake: cap,
      reason: reasonOf(f),
    }, e.currentTarget);
  };
  const bp = (n: number) => t("c.trader.bp", { n });
  return (
    <div data-trader={fixture} data-suspended={v ? String(v.suspended) : "unknown"}>
      <Failure p={p ?? err} lang={lang} onProblem={onProblem} />
      {done && <p role="status" className="trader-done">{done}</p>}
      {!v && !p && <p>{t("c.loading")}</p>}
      {v && (
        <>
          <table className="trader-state">
            <caption>{t("c.trader.state", { fixture })}</caption>
            <tbody>
              <tr><th scope="row">{t("c.trader.status")}</th>
                <td className="suspended">{v.suspended ? t("c.trader.suspended") : t("c.trader.open")}</td></tr>
              <tr><th scope="row">{t("c.trader.margin")}</th><td className="margin">{bp(v.margin_shift_bp)}
                {Object.entries(v.market_shift_bp ?? {}).map(([m, n]) => `, ${m} ${bp(n)}`).join("")}</td></tr>
              <tr><th scope="row">{t("c.trader.lean")}</th>
                <td className="lean">{v.lean ? `${t(`c.trader.${v.lean.outcome}`)} ${bp(v.lean.bp)}` : t("c.trader.noLean")}</td></tr>
              <tr><th scope="row">{t("c.trader.maxStake")}</th>
                <td className="max-stake">{v.max_stake ? euros(lang, v.max_stake) : t("c.trader.noCap")}</td></tr>
            </tbody>
          </table>
          <form className="console-form trader-suspend" onSubmit={suspend} aria-label={v.suspended ? t("c.trader.reopen") : t("c.trader.suspend")}>
            <label>{t("c.trader.reason")} <input name="reason" required /></label>
            <button type="submit" disabled={busy}>{v.suspended ? t("c.trader.reopen") : t("c.trader.suspend")}</button>
          </form>
          <form className="console-form trader-settings" onSubmit={settings} aria-labelledby="trader-settings">
            <h3 id="trader-settings">{t("c.trader.settings")}</h3>
            <label>{t("c.trader.marginField")} <input name="margin" type="number" step={1} defaultValue={v.margin_shift_bp} required /></label>
            <label>{t("c.trader.leanOutcome")}{" "}
              <select name="lean_outcome" defaultValue={v.lean?.outcome ?? "home"}>
                {(["home", "draw", "away"] as const).map((o) => <option key={o} value={o}>{t(`c.trader.${o}`)}</option>)}
              </select>
            </label>
            <label>{t("c.trader.leanBp")} <input name="lean_bp" type="number" step={1} defaultValue={v.lean?.bp ?? 0} required /></label>
            <label>{t("c.trader.maxStakeField")} <input name="max_stake" inputMode="decimal" defaultValue={capInput(lang, v.max_stake)} required /></label>
            <label>{t("c.trader.reason")} <input name="reason" required /></label>
            <button type="submit" disabled={busy}>{t("c.trader.apply")}</button>
          </form>
          <h3>{t("c.trader.history")}</h3>
          {!v.history?.length ? <p>{t("c.trader.noHistory")}</p> : (
            <table className="trader-history">
              <caption className="sr-only">{t("c.trader.history")}</caption>
              <thead><tr><th scope="col">{t("c.trader.n")}</th><th scope="col">{t("c.trader.at")}</th><th scope="col">{t("c.trader.by")}</th>
                <th scope="col">{t("c.trader.what")}</th><th scope="col">{t("c.trader.reason")}</th></tr></thead>
              <tbody>
                {[...v.history].reverse().map((h) => (
                  <tr key={h.n} data-change={h.n}>
                    <th scope="row">{h.n}</th>
                    <td>{new Date(h.at).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB")}</td>
                    <td>{h.by}</td>
                    <td className="what">{traderChange(lang, h.set)}</td>
                    <td className="why">{h.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <TraderMarkets fixture={fixture} v={v.markets} t={t} lang={lang} busy={busy} send={(b) => { void send(b); }} refuse={refuse} />
        </>
      )}
    </div>
  );
}
