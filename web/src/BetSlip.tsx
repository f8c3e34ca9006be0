// The bet slip, at the bottom of every page (mobile first: a bar that opens into a panel).
// Prices picked on the board or a fixture page become legs; the stake is typed in euros and
// parsed into integer cents (money.ts); the potential payout is computed as the player types,
// in integers, as the sport cluster computes it (slip.ts). Each bet is sent with its own
// Idempotency-Key; its result (accepted, pending, rejected or refused) is shown translated.
import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError } from "./api";
import { useSession } from "./auth";
import { WAITING, getBet, placeBet, waitForHold, type Bet } from "./bets";
import { formatLine, formatPrice } from "./format";
import { useI18n, type MessageKey } from "./i18n";
import { marketTitle, selectionLabel } from "./markets";
import { formatCents, parseEuros } from "./money";
import { problemMessage, type Problem } from "./problems";
import { onLink } from "./router";
import {
  MAX_LEGS,
  POLICIES,
  TOLERANCES,
  betBody,
  parseChanged,
  slip,
  totals,
  useSlip,
  withNewPrices,
  type Leg,
  type Policy,
} from "./slip";

type T = ReturnType<typeof useI18n>["t"];
type L = ReturnType<typeof useI18n>["lang"];

export function legText(l: Pick<Leg, "home" | "away" | "market" | "line" | "outcome">, t: T, lang: L) {
  return {
    match: `${l.home} – ${l.away}`,
    market: marketTitle(l.market, l, t),
    sel: selectionLabel(l.market, l.line, l.outcome, l, t, lang),
  };
}

interface Result {
  legs: Leg[];
  state: "placing" | "pending" | "accepted" | "rejected" | "refused";
  bet?: Bet;
  problem?: Problem;
}

function ResultLine({ r, onAccept }: { r: Result; onAccept: (r: Result) => void }) {
  const { t, lang } = useI18n();
  const what = r.legs.map((l) => legText(l, t, lang).sel).join(" + ");
  if (r.state === "placing") return <p>{t("form.busy")}</p>;
  if (r.state === "accepted" || r.state === "pending")
    return (
      <p className="notice" data-result={r.state} data-bet={r.bet?.id} data-delay={r.state === "pending" ? r.bet?.delay_ms : undefined}>
        {what} — {r.state === "accepted"
          ? t("slip.result.accepted", { stake: formatCents(r.bet!.stake, lang), payout: formatCents(r.bet!.payout, lang) })
          : r.bet?.status === "pending" && r.bet.delay_ms
            ? t("slip.result.delay", { s: String(Math.ceil(r.bet.delay_ms / 1000)) })
            : t("slip.result.pending")}{" "}
        <a href="/mes-paris" onClick={onLink}>{t("slip.see_bets")}</a>
      </p>
    );
  const p: Problem = r.state === "rejected" ? { status: 403, code: r.bet?.reject_code } : r.problem!;
  const { key, vars } = problemMessage(p, lang);
  const changed = r.state === "refused" && p.code === "price_changed" ? parseChanged(p.data) : [];
  return (
    <div className="alert" data-result={r.state} data-code={p.code}>
      <p>
        {what} — {t(r.state === "rejected" ? "slip.result.rejected" : "slip.result.refused", { reason: t(key, vars) })}
      </p>
      {changed.length > 0 && (
        <button type="button" onClick={() => onAccept(r)}>{t("slip.accept_prices")}</button>
      )}
    </div>
  );
}

export function Slip() {
  const { t, lang } = useI18n();
  const s = useSlip();
  const session = useSession();
  const [stakeText, setStakeText] = useState("");
  const [touched, setTouched] = useState(false);
  const [policy, setPolicy] = useState<Policy>("better");
  const [tolerance, setTolerance] = useState(TOLERANCES[1]);
  const [results, setResults] = useState<Result[]>([]);
  const [busy, setBusy] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLElement>(null);
  const stakeRef = useRef<HTMLInputElement>(null);
  const ctl = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => ctl.current?.abort(), []);
  useEffect(() => {
    if (!s.open) return;
    panel.current?.focus();
    // Escape closes the open panel wherever the focus is (a button just pressed, the page).
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      slip.setOpen(false);
      toggle.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [s.open]);

  const stake = parseEuros(stakeText);
  const invalid = touched && stakeText.trim() !== "" && stake === null;
  const mode = s.legs.length >= 2 ? s.mode : "single";
  const sum = totals(s.legs, mode, stake);
  const each = mode === "single" && s.legs.length > 1;

  const announce = s.last
    ? s.last.result === "full"
      ? t("slip.full", { n: MAX_LEGS })
      : t(`slip.${s.last.result}` as MessageKey, { sel: legText(s.last.leg, t, lang).sel, price: formatPrice(s.last.leg.price, lang) })
    : "";

  function close() {
    slip.setOpen(false);
    toggle.current?.focus();
  }

  function update(i: number, r: Partial<Result>) {
    setResults((all) => all.map((x, j) => (j === i ? { ...x, ...r } : x)));
  }

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    setTouched(true);
    if (stake === null) {
      stakeRef.current?.focus();
      return;
    }
    if (!session || !s.legs.length) return;
    const groups = mode === "accumulator" ? [s.legs] : s.legs.map((l) => [l]);
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    setBusy(true);
    setResults(groups.map((legs) => ({ legs, state: "placing" })));
    const taken: Leg[] = [];
    const waits: Promise<void>[] = [];
    for (const [i, legs] of groups.entries()) {
      const sport = legs[0].sport;
      try {
        const placed = await placeBet(sport, session.accessToken, betBody(legs, stake, policy, tolerance));
        taken.push(...legs);
        update(i, { state: WAITING.has(placed.status) ? "pending" : placed.status === "rejected" ? "rejected" : "accepted", bet: placed });
        // The stake's hold is answered by the accounts cluster a moment later.
        waits.push(
          waitForHold((sig) => getBet(sport, session.accessToken, placed.id, sig), placed, c.signal).then((bet) => {
            if (c.signal.aborted) return;
            update(i, { bet, state: bet.status === "rejected" ? "rejected" : WAITING.has(bet.status) ? "pending" : "accepted" });
            // A stake the wallet refused (funds, limits): the selections come back to the slip.
            if (bet.status === "rejected") {
              const now = slip.get().legs;
              slip.replace([...now, ...legs.filter((l) => !now.some((x) => x.fixture === l.fixture))].slice(0, MAX_LEGS));
            }
          }),
        );
      } catch (err) {
        update(i, { state: "refused", problem: err instanceof ApiError ? err.problem : { status: 0, code: "client.network" } });
      }
    }
    // The legs of the bets placed leave the slip; refused ones stay to be changed.
    slip.replace(slip.get().legs.filter((l) => !taken.includes(l)));
    setBusy(false);
    await Promise.all(waits);
  }

  function acceptPrices(r: Result) {
    slip.replace(withNewPrices(slip.get().legs, r.legs, parseChanged(r.problem?.data)));
    setResults((all) => all.filter((x) => x !== r));
  }

  const count = s.legs.length;
  if (!count && !results.length)
    return (
      <p className="sr-only" role="status">
        {announce}
      </p>
    );
  return (
    <div className="slip-dock">
      <p className="sr-only" role="status">
        {announce}
      </p>
      {s.open && (
        <section
          id="slip-panel"
          className="slip"
          aria-labelledby="slip-title"
          tabIndex={-1}
          ref={panel}
        >
          <div className="slip-head">
            <h2 id="slip-title">{t("slip.title")}</h2>
            <button type="button" className="link" onClick={close}>{t("slip.close")}</button>
          </div>
          {count === 0 && <p>{t("slip.empty")}</p>}
          {count > 0 && (
            <ul className="legs">
              {s.legs.map((l) => {
                const x = legText(l, t, lang);
                return (
                  <li key={l.fixture} className="leg" data-fixture={l.fixture} data-price={l.price}>
                    <span className="leg-match">{x.match}</span>
                    <span className="leg-sel">{t("slip.leg", { market: x.market, sel: x.sel })}</span>
                    <span className="leg-price">{t("slip.price", { price: formatPrice(l.price, lang) })}</span>
                    <button type="button" className="link" onClick={() => slip.remove(l)}>{t("slip.remove", { sel: x.sel })}</button>
                  </li>
                );
              })}
            </ul>
          )}
          {count > 0 && (
            <form className="slip-form" onSubmit={onSubmit} noValidate>
              {count >= 2 && (
                <fieldset>
                  <legend>{t("slip.mode")}</legend>
                  {(["single", "accumulator"] as const).map((m) => (
                    <label key={m} className="radio">
                      <input type="radio" name="slip-mode" value={m} checked={mode === m} onChange={() => slip.setMode(m)} /> {t(`slip.${m}`)}
                    </label>
                  ))}
                </fieldset>
              )}
              <label htmlFor="slip-stake">{t(each ? "slip.stake.each" : "slip.stake")}</label>
              <input
                id="slip-stake"
                ref={stakeRef}
                inputMode="decimal"
                autoComplete="off"
                value={stakeText}
                onChange={(e) => setStakeText(e.target.value)}
                onBlur={() => setTouched(true)}
                aria-invalid={invalid || undefined}
                aria-describedby={`slip-stake-hint slip-sum${invalid ? " slip-stake-error" : ""}`}
              />
              <p className="hint" id="slip-stake-hint">{t("slip.stake.hint")}</p>
              {invalid && <p className="field-error" id="slip-stake-error">{t("amount.invalid")}</p>}
              <div id="slip-sum" className="slip-sum" data-payout={sum?.payout ?? ""}>
                {sum?.odds !== undefined && <p>{t("slip.odds", { odds: formatPrice(sum.odds, lang) })}</p>}
                {sum && sum.bets > 1 && <p>{t("slip.total", { amount: formatCents(sum.stake, lang), n: sum.bets })}</p>}
                <p className="payout">{t("slip.payout", { amount: sum ? formatCents(sum.payout, lang) : "—" })}</p>
              </div>
              <fieldset>
                <legend>{t("slip.policy")}</legend>
                {POLICIES.map((p) => (
                  <label key={p} className="radio">
                    <input type="radio" name="slip-policy" value={p} checked={policy === p} onChange={() => setPolicy(p)} /> {t(`slip.policy.${p}`)}
                  </label>
                ))}
                {policy === "any_within" && (
                  <label className="tolerance">
                    {t("slip.tolerance")}{" "}
                    <select value={tolerance} onChange={(e) => setTolerance(Number(e.target.value))}>
                      {TOLERANCES.map((v) => (
                        <option key={v} value={v}>{formatLine(String(v / 1000), lang, false)}</option>
                      ))}
                    </select>
                  </label>
                )}
              </fieldset>
              {session ? (
                // aria-disabled, not disabled: the button keeps the focus while the bet is sent.
                <button type="submit" className="primary" aria-disabled={busy || undefined}>{busy ? t("form.busy") : t("slip.submit")}</button>
              ) : (
                <p>
                  <a href="/connexion" onClick={onLink}>{t("slip.signin")}</a>
                </p>
              )}
            </form>
          )}
          <div className="slip-results" aria-live="polite">
            {results.map((r, i) => (
              <ResultLine key={i} r={r} onAccept={acceptPrices} />
            ))}
          </div>
          {count > 0 && (
            <p>
              <button type="button" className="link" onClick={() => (slip.clear(), setResults([]))}>{t("slip.clear")}</button>
            </p>
          )}
        </section>
      )}
      <button
        type="button"
        className="slip-bar"
        ref={toggle}
        aria-expanded={s.open}
        aria-controls={s.open ? "slip-panel" : undefined}
        onClick={() => slip.setOpen(!s.open)}
      >
        <span className="slip-bar-title">{t("slip.toggle")}</span>
        <span className="slip-count" data-count={count}>{t("slip.count", { n: count })}</span>
        {sum && <span>{t("slip.payout", { amount: formatCents(sum.payout, lang) })}</span>}
      </button>
    </div>
  );
}
