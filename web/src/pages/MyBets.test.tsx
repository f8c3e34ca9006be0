import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";
import type { Bet } from "../bets";
import { I18nProvider, type Lang } from "../i18n";
import { BetItem } from "./MyBets";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const names = { "BA-001": { home: "Paris SG", away: "Chelsea" }, "BA-002": { home: "Lyon", away: "Lille" } };
const base: Bet = {
  id: "b000000000007",
  status: "accepted",
  kind: "accumulator",
  stake: 200,
  odds: 4233,
  payout: 846,
  policy: "better",
  placed_at: "2026-12-04T15:09:00Z",
  legs: [
    { fixture: "BA-001", market: "1x2", outcome: "home", price: 2140, price_seen: 2140, version: 3, result: null },
    { fixture: "BA-002", market: "total_goals", line: "2.5", outcome: "over", price: 1978, price_seen: 1978, version: 9, result: null },
  ],
};

let root: ReturnType<typeof createRoot> | undefined;
afterEach(() => {
  act(() => root?.unmount());
  document.body.innerHTML = "";
});
function render(bet: Bet, lang: Lang = "fr") {
  const el = document.createElement("ul");
  document.body.append(el);
  root = createRoot(el);
  act(() => root!.render(<I18nProvider lang={lang}><BetItem bet={bet} names={names} /></I18nProvider>));
  return el;
}
const text = (el: Element | null) => (el?.textContent ?? "").replace(/[\u00a0\u202f]/g, " ");

describe("a bet in Mes paris", () => {
  it("shows an open accumulator with its legs, stake, odds and potential payout", () => {
    const el = render(base);
    expect(text(el.querySelector(".bet-head"))).toBe("Combiné de 2 sélections Accepté");
    const legs = [...el.querySelectorAll(".bet-legs li")].map(text);
    expect(legs).toEqual(["Paris SG – Chelsea Résultat du match (1N2) : Paris SG Cote 2,14", "Lyon – Lille Nombre de buts : Plus de 2,5 Cote 1,98"]);
    expect(text(el.querySelector("[data-field=stake] dd"))).toBe("2,00 €");
    expect(text(el.querySelector("[data-field=odds] dd"))).toBe("4,23");
    expect(text(el.querySelector("[data-field=payout] dd"))).toBe("8,46 €");
    expect(el.querySelector("[data-field=return]")).toBeNull();
  });
  it("shows a settled bet's result, its legs' results and its return", () => {
    const won: Bet = { ...base, status: "settled", result: "won", return: 846, legs: base.legs.map((l) => ({ ...l, result: "won" })) };
    const el = render(won);
    expect(text(el.querySelector(".bet-head"))).toBe("Combiné de 2 sélections Réglé : Gagné");
    expect(text(el.querySelector(".bet-legs li"))).toContain("— Gagné");
    expect(text(el.querySelector("[data-field=return] dd"))).toBe("8,46 €");
    expect(el.querySelector("[data-field=payout]")).toBeNull();
    const lost = render({ ...won, result: "lost", return: 0 }, "en");
    expect(text(lost.querySelector(".bet-head"))).toBe("Accumulator of 2 selections Settled: Lost");
    expect(text(lost.querySelector("[data-field=return] dd"))).toBe("€0.00");
  });
  it("gives a rejected bet's reason in words, never the code", () => {
    const el = render({ ...base, kind: "single", legs: base.legs.slice(0, 1), status: "rejected", reject_code: "stake_limit" });
    expect(text(el.querySelector(".bet-head"))).toBe("Simple Refusé");
    expect(text(el.querySelector(".bet-reason"))).toBe("Motif : Cette mise dépasserait votre limite de mise sur 7 jours.");
    expect(el.textContent).not.toContain("stake_limit");
    expect(el.querySelector("[data-field=payout]")).toBeNull();
    const waiting = render({ ...base, status: "pending" }, "en");
    expect(text(waiting.querySelector(".bet-status"))).toBe("Waiting (acceptance delay)");
  });
});
