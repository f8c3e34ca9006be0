import { act } from "react";
import { createRoot } from "react-dom/client";
import { describe, expect, it } from "vitest";
import type { Fixture, Market } from "./api";
import { I18nProvider } from "./i18n";
import { FixtureRow } from "./pages/Board";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const f: Fixture = { id: "BA-001", sport: "football", competition: "Ligue 1", home: "Paris SG", away: "Chelsea", kickoff: "2026-11-28T15:00:00Z", status: "live", version: 1 };
const m = (status: Market["status"]): Market => ({ fixture: "BA-001", sport: "football", status, version: 3, prices: { "1x2": { home: 2140, draw: 3500, away: 3100 } } });

function render(node: React.ReactNode) {
  const el = document.createElement("ul");
  document.body.append(el);
  act(() => createRoot(el).render(node));
  return el;
}

describe("a board row", () => {
  it("shows the 1X2 prices with the move marked for screen readers too", () => {
    const el = render(
      <I18nProvider lang="fr">
        <FixtureRow f={f} m={m("open")} move={{ at: 0, dirs: { home: 1, draw: 0, away: -1 } }} />
      </I18nProvider>,
    );
    const prices = [...el.querySelectorAll(".price")];
    expect(prices.map((p) => p.querySelector(".value")!.textContent)).toEqual(["2,14", "3,50", "3,10"]);
    expect(prices[0].getAttribute("data-moved")).toBe("up");
    // What a screen reader says: every text but the decorative arrow.
    const spoken = (el: Element) => [...el.querySelectorAll(":scope > span:not([aria-hidden])")].map((s) => s.textContent).join("");
    expect(spoken(prices[0])).toBe("Victoire Paris SG 2,14, en hausse");
    expect(spoken(prices[1])).toBe("Match nul 3,50");
    expect(prices[2].getAttribute("data-moved")).toBe("down");
    expect(prices[1].hasAttribute("data-moved")).toBe(false);
  });
  it("shows a suspended market as suspended, prices still there", () => {
    const el = render(
      <I18nProvider lang="en">
        <FixtureRow f={f} m={m("suspended")} />
      </I18nProvider>,
    );
    expect(el.querySelector(".badge-suspended")!.textContent).toBe("Suspended");
    expect(el.querySelectorAll(".outcome.suspended")).toHaveLength(3);
  });
});
