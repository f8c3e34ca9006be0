// The ledger page (the ledger check and the return-to-player meter per year) and the oracle page
// (the chain settings, results per state and the latest results with their transaction), as
// tables and figures: no raw JSON.
import { useEffect, useState } from "react";
import { adminGet } from "./api";
import { ORACLE_STATES, ether, oracleScore, oracleState, shortHash, trjView, type OracleResult, type Trj } from "./figures";
import { Failure, SPORT, useLoad, type PageProps } from "./ui";

export function LedgerPage({ s, t, lang, onProblem }: PageProps) {
  const [check, p1] = useLoad(() => adminGet<{ ok: boolean }>(s, "accounts", "ledger/check"));
  const thisYear = new Date().getUTCFullYear();
  const [year, setYear] = useState(thisYear);
  const [trj, p2, reload] = useLoad(() => adminGet<Trj>(s, "accounts", `ledger/trj?year=${year}`));
  useEffect(reload, [year, reload]);
  const v = trj && trj.year === year ? trjView(lang, trj) : undefined;
  return (
    <>
      <h3>{t("c.ledger.check")}</h3>
      <Failure p={p1} lang={lang} onProblem={onProblem} />
      {check && <p className="ledger-check" data-ok={String(check.ok)}>{check.ok ? t("c.ledger.ok") : t("c.ledger.broken")}</p>}
      <h3>{t("c.ledger.trj")}</h3>
      <label>{t("c.ledger.trjYear")}{" "}
        <select value={year} onChange={(e) => setYear(Number(e.target.value))}>
          {[thisYear, thisYear - 1, thisYear - 2].map((y) => <option key={y} value={y}>{y}</option>)}
        </select>
      </label>
      <Failure p={p2} lang={lang} onProblem={onProblem} />
      {v && (
        <table className="console-trj" data-trj={v.year} data-over={String(v.over)}>
          <caption>{t("c.ledger.trjCaption", { year: v.year })}</caption>
          <tbody>
            <tr><th scope="row">{t("c.ledger.stakes")}</th><td className="stakes">{v.stakes}</td></tr>
            <tr><th scope="row">{t("c.ledger.payouts")}</th><td className="payouts">{v.payouts}</td></tr>
            <tr><th scope="row">{t("c.ledger.ratio")}</th><td className="ratio">{v.ratio}</td></tr>
            <tr><th scope="row">{t("c.ledger.cap")}</th><td className="cap">{v.cap}</td></tr>
          </tbody>
        </table>
      )}
      {v && (v.over ? <p role="alert" className="console-alert trj-verdict">{v.verdict}</p> : <p className="trj-verdict">{v.verdict}</p>)}
    </>
  );
}

interface OracleStatus {
  chain_id: number; contract: string; sender: string; confirmations: number;
  results: Record<string, number>;
  signers: { out_of_sync: boolean };
  balance: { wei: string; low: boolean };
  last_error: string;
  recent?: OracleResult[];
}

export function OraclePage({ s, t, lang, onProblem }: PageProps) {
  const [o, p, reload] = useLoad(() => adminGet<OracleStatus>(s, SPORT, "oracle"));
  useEffect(() => { const id = setInterval(reload, 5000); return () => clearInterval(id); }, [reload]);
  const dt = (at?: string) => (at ? new Date(at).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB") : "—");
  return (
    <>
      <h3>{t("c.oracle.title")}</h3>
      {p && p.status === 404 ? <p className="oracle-off">{t("c.oracle.notConfigured")}</p> : <Failure p={p} lang={lang} onProblem={onProblem} />}
      {o && (
        <div data-oracle="on">
          <p>{t("c.oracle.summary", { chain: o.chain_id, contract: o.contract, sender: o.sender })}</p>
          <p>{t("c.oracle.confirmations", { n: o.confirmations })}</p>
          {o.balance.low ? <p role="alert" className="console-alert">{t("c.oracle.balanceLow", { eth: ether(lang, o.balance.wei) })}</p>
            : <p>{t("c.oracle.balance", { eth: ether(lang, o.balance.wei) })}</p>}
          {o.signers.out_of_sync && <p role="alert" className="console-alert">{t("c.oracle.signersOut")}</p>}
          {o.last_error && <p>{t("c.oracle.lastError", { error: o.last_error })}</p>}
          <table className="oracle-counts">
            <caption>{t("c.oracle.counts")}</caption>
            <thead><tr>{ORACLE_STATES.map((st) => <th scope="col" key={st}>{oracleState(lang, st)}</th>)}</tr></thead>
            <tbody><tr>{ORACLE_STATES.map((st) => <td key={st} data-state={st}>{o.results[st] ?? 0}</td>)}</tr></tbody>
          </table>
          {!o.recent?.length ? <p>{t("c.oracle.none")}</p> : (
            <table className="oracle-recent">
              <caption>{t("c.oracle.recent")}</caption>
              <thead><tr>
                <th scope="col">{t("c.oracle.fixture")}</th><th scope="col">{t("c.oracle.result")}</th><th scope="col">{t("c.oracle.state")}</th>
                <th scope="col">{t("c.oracle.tx")}</th><th scope="col">{t("c.oracle.block")}</th><th scope="col">{t("c.oracle.updated")}</th>
              </tr></thead>
              <tbody>
                {o.recent.map((r) => (
                  <tr key={r.fixture} data-fixture={r.fixture} data-state={r.state}>
                    <th scope="row">{r.fixture}</th>
                    <td>{oracleScore(r)}</td>
                    <td>{oracleState(lang, r.state)}{r.reason ? ` (${r.reason})` : ""}</td>
                    <td><code title={r.tx_hash}>{shortHash(r.tx_hash)}</code></td>
                    <td>{r.block ?? "—"}</td>
                    <td>{dt(r.updated_at)}</td>
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
