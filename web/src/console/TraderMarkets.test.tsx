import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ct, type ConsoleKey } from "./messages";
import { TraderMarkets } from "./TraderMarkets";
import type { MarketsView } from "./traderMarket";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const t = (k: ConsoleKey, v?: Record<string, string | number>) => ct("fr", k, v);
const view: MarketsView = {
  markets: { total_goals: { line_move_q: 4, lean: null, max_stake: 0, suspended: false } },
  changes: 1,
  history: [{ n: 1, entry: 9, at: "2026-12-05T12:00:00Z", by: "op-1", reason: "forte pluie", market: "total_goals", set: { line_move_q: 4 } }],
};

let el: HTMLDivElement, root: Root;
beforeEach(() => { el = document.createElement("div"); document.body.append(el); root = createRoot(el); });
afterEach(() => { act(() => root.unmount()); el.remove(); });

function render(send = vi.fn(), refuse = vi.fn(), v: MarketsView | undefined = view) {
  act(() => root.render(<TraderMarkets fixture="FB-1" v={v} t={t} lang="fr" busy={false} send={send} refuse={refuse} />));
  return { send, refuse };
}
const input = (name: string) => el.querySelector<HTMLInputElement>(`.trader-market-form [name=${name}]`);
const select = (name: string, value: string) => act(() => {
  const s = el.querySelector<HTMLSelectElement>(`.trader-market-form select[name=${name}]`)!;
  s.value = value;
  s.dispatchEvent(new Event("change", { bubbles: true }));
});
const type = (name: string, value: string) => { input(name)!.value = value; };
const submit = () => act(() => el.querySelector<HTMLFormElement>(".trader-market-form")!.requestSubmit());

describe("the per-market section", () => {
  it("shows the markets with settings and each one's history", () => {
    render();
    const row = el.querySelector("table.trader-markets-state tr[data-market=total_goals]")!;
    expect(row.querySelector(".line")!.textContent).toBe("+1 but(s)");
    expect(row.querySelector(".state")!.textContent).toBe("ouvert");
    const h = el.querySelector("[data-market-history=total_goals] tr[data-change='1']")!;
    expect(h.querySelector(".what")!.textContent).toBe("ligne +1");
    expect(h.querySelector(".why")!.textContent).toBe("forte pluie");
  });
  it("says so when no market has settings", () => {
    render(vi.fn(), vi.fn(), { markets: {}, changes: 0, history: [] });
    expect(el.querySelector(".tm-none")!.textContent).toBe("Aucun marché n'a de réglage propre.");
    expect(el.querySelector("table.trader-markets-state")).toBeNull();
  });
  it("offers a line in whole goals, quarter goals or not at all, and a lean only between two sides", () => {
    render();
    expect(input("line_move")!.step).toBe("1");
    expect(input("line_move")!.value).toBe("1"); // the current move
    expect([...el.querySelectorAll(".trader-market-form select[name=lean_outcome] option")].map((o) => o.textContent)).toEqual(["plus", "moins"]);
    select("market", "asian_handicap");
    expect(input("line_move")!.step).toBe("0.25");
    select("market", "btts");
    expect(input("line_move")).toBeNull();
    expect(el.querySelector(".tm-no-line")).not.toBeNull();
    expect(input("lean_bp")).not.toBeNull();
    select("market", "1x2");
    expect(input("line_move")).toBeNull();
    expect(input("lean_bp")).toBeNull();
    // Every field has its label.
    for (const f of el.querySelectorAll(".trader-market-form input, .trader-market-form select")) expect(f.closest("label")).not.toBeNull();
  });
  it("sends only the change asked for, with exact cents", () => {
    const { send, refuse } = render();
    type("max_stake", "19,99");
    select("state", "suspended");
    type("reason", "alerte d'intégrité");
    submit();
    expect(refuse).not.toHaveBeenCalled();
    expect(send).toHaveBeenCalledWith({ market: "total_goals", max_stake: 1999, suspended: true, reason: "alerte d'intégrité" });
  });
  it("refuses locally what it cannot read, with a code translated by the page", () => {
    const { send, refuse } = render();
    type("max_stake", "12,345");
    type("reason", "essai");
    submit();
    expect(send).not.toHaveBeenCalled();
    expect(refuse).toHaveBeenCalledWith("invalid_max_stake");
  });
});
