// The cash-out of one open bet in "Mes paris": the live offer (asked again when a quote of one
// of its games is published or suspended, @tick, and before the offer runs out), a button to
// take it, and every refusal in words (never the code).
import { useEffect, useState } from "react";
import { ApiError } from "./api";
import type { Bet } from "./bets";
import { acceptCashout, canCashOut, cashoutMessage, getCashout, refreshDelay, refusalIsFinal, type CashoutOffer } from "./cashout";
import { useI18n } from "./i18n";
import { formatCents } from "./money";
import type { Problem } from "./problems";

const asProblem = (e: unknown): Problem => (e instanceof ApiError ? e.problem : { status: 0, code: "client.network" });

export function CashOut({ bet, token, tick, sport = "football" }: { bet: Bet; token: string; tick: string; sport?: string }) {
  const { t, lang } = useI18n();
  const [offer, setOffer] = useState<CashoutOffer>();
  const [problem, setProblem] = useState<Problem>();
  const [refusal, setRefusal] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<number>();
  const [again, setAgain] = useState(0);
  const open = canCashOut(bet) && done === undefined;
  useEffect(() => {
    if (!open) return;
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    getCashout(sport, token, bet.id, ctl.signal)
      .then((o) => {
        setOffer(o);
        setProblem(undefined);
        timer = setTimeout(() => setAgain((n) => n + 1), refreshDelay(o.expires_ms, Date.now()));
      })
      .catch((e) => {
        if (ctl.signal.aborted) return;
        const p = asProblem(e);
        setOffer(undefined);
        setProblem(p);
        // A suspension or a network failure passes: ask again a little later.
        if (!refusalIsFinal(p)) timer = setTimeout(() => setAgain((n) => n + 1), 3000);
      });
    return () => {
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
  }, [bet.id, open, tick, again, token]);
  if (!canCashOut(bet) && done === undefined) return null;
  async function take() {
    if (!offer) return;
    setBusy(true);
    setRefusal(undefined);
    try {
      const b = await acceptCashout(sport, token, offer);
      setDone(b.return ?? offer.amount);
    } catch (e) {
      setRefusal(asProblem(e));
      setAgain((n) => n + 1);
    } finally {
      setBusy(false);
    }
  }
  const say = (p: Problem) => {
    const m = cashoutMessage(p, lang);
    return t(m.key, m.vars);
  };
  if (done !== undefined)
    return (
      <p className="cashout cashout-done" data-cashout="done" role="status">
        {t("cashout.done", { amount: formatCents(done, lang) })}
      </p>
    );
  return (
    <div className="cashout" data-cashout={offer ? "offer" : problem ? "unavailable" : "loading"}>
      {offer ? (
        <p>
          <button type="button" className="cashout-take" disabled={busy} onClick={() => void take()}>
            {t("cashout.take", { amount: formatCents(offer.amount, lang) })}
          </button>{" "}
          <span className="hint">{t("cashout.hint")}</span>
        </p>
      ) : problem ? (
        <p className="hint cashout-unavailable">{t("cashout.unavailable", { reason: say(problem) })}</p>
      ) : (
        <p className="hint">{t("cashout.loading")}</p>
      )}
      <p className="cashout-refusal" role="alert">
        {refusal ? t("cashout.refused", { reason: say(refusal) }) : ""}
      </p>
    </div>
  );
}
