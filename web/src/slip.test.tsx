import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it } from "vitest";
import type { Fixture, Market } from "./api";
import { I18nProvider, translate, type Lang } from "./i18n";
import { parseEuros } from "./money";
import { FixtureRow } from "./pages/Board";
import { ApiError } from "./api";
import { waitForHold, type Bet } from "./bets";
import { BET_CODES, HOLD_CODES, problemFrom, problemMessage } from "./problems";
import { Slip } from "./BetSlip";
import { MAX_LEGS, betBody, combinedOdds, parseChanged, payout, pick, slip, totals, withNewPrices, type Leg } from "./slip";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const leg = (fixture: string, price: number, extra: Partial<Leg> = {}): Leg => ({
  sport: "football", fixture, home: `${fixture}-H`, away: `${fixture}-A`, market: "1x2", outcome: "home", price, version: 7, ...extra,
});

describe("the slip's arithmetic (as consensus/bets.c computes it)", () => {
  it("floors the accumulator's odds at every leg, not once at the end", () => {
    // 1.333^3 = 2.368593 would give 2368; the cluster floors at each step: 1333, 1776, 2367.
    expect(combinedOdds([1333, 1333, 1333])).toBe(2367);
    expect(combinedOdds([2140])).toBe(2140);
    expect(combinedOdds([2140, 1850])).toBe(3959);
    expect(combinedOdds([])).toBe(1000);
  });
  it("floors the payout to the cent", () => {
    expect(payout(1001, 2367)).toBe(2369); // 2369.367
    expect(payout(500, 2140)).toBe(1070);
    expect(payout(1, 1999)).toBe(1);
    expect(payout(parseEuros("2,50")!, 1850)).toBe(462); // 4.625 EUR -> 4.62
  });
  it("stays exact beyond floating point's integers", () => {
    // 10 legs at 1000.00 and a 1,000,000.00 EUR stake: 10^30 milli-odds x 10^8 cents.
    const odds = combinedOdds(Array(10).fill(1_000_000));
    expect(odds).toBe(1e33);
    expect(payout(100_000_000, 999_999)).toBe(99_999_900_000);
    // 54,653,591 x 1,649,375,956 is over 2^53: a floating-point product would round up to
    // 90,144,318,904,458; the exact floor is one cent less.
    expect(payout(54_653_591, 1_649_375_956)).toBe(90_144_318_904_457);
    expect(Math.floor((54_653_591 * 1_649_375_956) / 1000)).toBe(90_144_318_904_458);
  });
  it("adds singles up, one bet per leg, and makes one accumulator bet", () => {
    const legs = [leg("a", 2000), leg("b", 1500)];
    expect(totals(legs, "single", 1000)).toEqual({ bets: 2, stake: 2000, payout: 3500 });
    expect(totals(legs, "accumulator", 1000)).toEqual({ bets: 1, stake: 1000, payout: 3000, odds: 3000 });
    expect(totals(legs, "single", null)).toBeNull();
    expect(totals([], "single", 1000)).toBeNull();
  });
});

describe("picking prices", () => {
  it("adds, takes off the same selection, replaces another selection of the same fixture", () => {
    let r = pick([], leg("a", 2000));
    expect(r.result).toBe("added");
    r = pick(r.legs, leg("b", 1500));
    expect(r.legs.map((l) => l.fixture)).toEqual(["a", "b"]);
    r = pick(r.legs, leg("a", 3000, { outcome: "away" }));
    expect(r.result).toBe("replaced");
    expect(r.legs.map((l) => [l.fixture, l.outcome])).toEqual([["a", "away"], ["b", "home"]]);
    r = pick(r.legs, leg("b", 1500));
    expect(r.result).toBe("removed");
    expect(r.legs).toHaveLength(1);
    // A line market: the line is part of the selection.
    const over = leg("c", 1900, { market: "total_goals", line: "2.5", outcome: "over" });
    r = pick(r.legs, over);
    r = pick(r.legs, { ...over, line: "3.5" });
    expect(r.result).toBe("replaced");
    expect(r.legs.find((l) => l.fixture === "c")!.line).toBe("3.5");
  });
  it("refuses an eleventh fixture", () => {
    let legs: Leg[] = [];
    for (let i = 0; i < MAX_LEGS; i++) legs = pick(legs, leg(`f${i}`, 1500)).legs;
    const r = pick(legs, leg("f10", 1500));
    expect(r.result).toBe("full");
    expect(r.legs).toHaveLength(MAX_LEGS);
  });
  it("builds the POST /v1/bets body in cents and milli-odds", () => {
    const legs = [leg("a", 2000), leg("c", 1900, { market: "total_goals", line: "2.5", outcome: "over", version: 9 })];
    expect(betBody(legs, 500, "better", 100)).toEqual({
      stake: 500,
      policy: "better",
      legs: [
        { fixture: "a", market: "1x2", outcome: "home", price: 2000, version: 7 },
        { fixture: "c", market: "total_goals", line: "2.5", outcome: "over", price: 1900, version: 9 },
      ],
    });
    expect(betBody(legs.slice(0, 1), 500, "any_within", 100)).toMatchObject({ policy: "any_within", tolerance: 100 });
  });
  it("takes the new prices of a price_changed refusal", async () => {
    const res = new Response(
      JSON.stringify({ type: "about:blank", title: "Price changed", status: 409, code: "price_changed", detail: "x", current: 1950, version: 12, legs: [{ leg: 1, price: 2000, current: 1950, version: 12 }] }),
      { status: 409, headers: { "Content-Type": "application/problem+json" } },
    );
    const p = await problemFrom(res);
    expect(p.code).toBe("price_changed");
    const sent = [leg("a", 1500), leg("b", 2000)];
    const changed = parseChanged(p.data);
    expect(changed).toEqual([{ leg: 1, price: 2000, current: 1950, version: 12 }]);
    const now = withNewPrices(sent, sent, changed);
    expect(now.map((l) => [l.price, l.version])).toEqual([[1500, 7], [1950, 12]]);
    expect(translate("fr", problemMessage(p, "fr").key, problemMessage(p, "fr").vars)).toBe("La cote a changé : elle est maintenant de 1,95.");
    expect(translate("en", problemMessage(p, "en").key, problemMessage(p, "en").vars)).toBe("The odds changed: they are now 1.95.");
    expect(parseChanged({ legs: [{ leg: "x" }] })).toEqual([]);
    expect(parseChanged(undefined)).toEqual([]);
  });
});

describe("bets refusals, translated", () => {
  it("translates every bets code and every hold refusal in both languages, never generically", () => {
    // The codes consensus/bets.h documents.
    for (const code of ["too_many_legs", "same_fixture", "market_suspended", "betting_closed", "invalid_quote", "price_changed", "not_offered", "below_min_stake", "above_max_stake", "above_max_payout", "liability_cap"])
      expect(BET_CODES, code).toContain(code);
    for (const code of [...BET_CODES, ...HOLD_CODES]) {
      const p = { status: 409, code, title: "Something", detail: "raw detail", data: { current: 2050, max: 100000, min: 10, max_stake: 4321 } };
      for (const lang of ["fr", "en"] as Lang[]) {
        const { key, vars } = problemMessage(p, lang);
        expect(key, code).not.toBe("problem.generic");
        const text = translate(lang, key, vars);
        expect(text, `${code} ${lang}`).not.toMatch(/[{}]/);
        expect(text).not.toContain("raw detail");
        expect(text).not.toContain(code);
      }
    }
    const fr = (code: string, data: Record<string, unknown>) => {
      const { key, vars } = problemMessage({ status: 409, code, data }, "fr");
      return translate("fr", key, vars).replace(/[\u00a0\u202f]/g, " ");
    };
    expect(fr("above_max_stake", { max: 100000 })).toBe("La mise maximale est de 1 000,00 €.");
    expect(fr("below_min_stake", { min: 10 })).toBe("La mise minimale est de 0,10 €.");
    expect(fr("liability_cap", { max_stake: 4321 })).toBe("Nous ne pouvons pas accepter une mise aussi élevée sur cette sélection : misez au plus 43,21 €.");
    expect(fr("too_many_legs", { max: 10 })).toBe("Un combiné compte au plus 10 sélections.");
    expect(fr("market_suspended", {})).toBe("Les paris sur ce match sont suspendus pour le moment.");
    expect(fr("insufficient_funds", {})).toBe("Votre solde disponible ne suffit pas.");
    const { key, vars } = problemMessage({ status: 409, code: "above_max_stake", data: { max: 100000 } }, "en");
    expect(translate("en", key, vars)).toBe("The maximum stake is €1,000.00.");
  });
});

describe("waiting for a bet's decision", () => {
  const placed = { id: "b000000000001", status: "pending_hold" } as Bet;
  it("looks again through the hold and an acceptance delay, a lagging node's 404 included", async () => {
    const seen: string[] = [];
    const answers: (string | number)[] = [404, "pending_hold", "pending", "pending", "accepted", "settled"];
    const got = await waitForHold(
      async () => {
        const a = answers.shift()!;
        seen.push(String(a));
        if (typeof a === "number") throw new ApiError({ status: a });
        return { ...placed, status: a };
      },
      placed,
      new AbortController().signal,
      Array(10).fill(0),
    );
    expect(got.status).toBe("accepted");
    expect(seen).toEqual(["404", "pending_hold", "pending", "pending", "accepted"]);
  });
  it("gives up still pending after its last look, and stops when aborted", async () => {
    const still = await waitForHold(async () => placed, placed, new AbortController().signal, [0, 0, 0]);
    expect(still.status).toBe("pending_hold");
    const ctl = new AbortController();
    ctl.abort();
    let looks = 0;
    await waitForHold(async () => (looks++, placed), placed, ctl.signal, [0, 0, 0]);
    expect(looks).toBe(0);
  });
  it("says a bet rejected after its delay for a price change without a price", () => {
    const { key, vars } = problemMessage({ status: 403, code: "price_changed" }, "fr");
    expect(translate("fr", key, vars)).toBe("La cote a changé pendant le délai d'acceptation.");
    expect(translate("en", key, vars)).toBe("The odds changed during the acceptance delay.");
  });
});

describe("the slip on the page", () => {
  const f: Fixture = { id: "BA-001", sport: "football", competition: "Ligue 1", home: "Paris SG", away: "Chelsea", kickoff: "2026-11-28T15:00:00Z", status: "scheduled", version: 1 };
  const g: Fixture = { ...f, id: "BA-002", home: "Lyon", away: "Lille" };
  const m = (id: string, status: Market["status"], home: number): Market => ({ fixture: id, sport: "football", status, version: 3, prices: { "1x2": { home, draw: 3500, away: 3100 } } });
  let root: ReturnType<typeof createRoot> | undefined;
  afterEach(() => {
    act(() => root?.unmount());
    slip.clear();
    slip.setOpen(false);
    document.body.innerHTML = "";
  });
  function render(lang: Lang, markets: Market[]) {
    const el = document.createElement("div");
    document.body.append(el);
    root = createRoot(el);
    act(() =>
      root!.render(
        <I18nProvider lang={lang}>
          <ul>
            <FixtureRow f={f} m={markets[0]} />
            <FixtureRow f={g} m={markets[1]} />
          </ul>
          <Slip />
        </I18nProvider>,
      ),
    );
    return el;
  }
  const type = (input: HTMLInputElement, value: string) =>
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(input, value);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });

  it("adds a price as a leg, announces it, and shows the payout as the stake is typed", () => {
    const el = render("fr", [m("BA-001", "open", 2140), m("BA-002", "open", 1850)]);
    const home = el.querySelector<HTMLButtonElement>('.fixture[data-fixture="BA-001"] button.pick[data-pick="1x2/home"]')!;
    expect(home.getAttribute("aria-pressed")).toBe("false");
    act(() => home.click());
    expect(home.getAttribute("aria-pressed")).toBe("true");
    expect(el.querySelector("[role=status]")!.textContent).toBe("Ajouté au coupon : Paris SG, cote 2,14.");
    const bar = el.querySelector<HTMLButtonElement>("button.slip-bar")!;
    expect(bar.getAttribute("aria-expanded")).toBe("false");
    act(() => bar.click());
    expect(bar.getAttribute("aria-expanded")).toBe("true");
    expect(document.activeElement).toBe(el.querySelector("#slip-panel"));
    expect(el.querySelector(".leg")!.textContent).toContain("Résultat du match (1N2) : Paris SG");
    const stake = el.querySelector<HTMLInputElement>("#slip-stake")!;
    expect(el.querySelector("label[for=slip-stake]")!.textContent).toBe("Mise (€)");
    type(stake, "12,5");
    expect(el.querySelector(".slip-sum .payout")!.textContent).toBe("Gain potentiel : 26,75 €".replace(" €", "\u00a0€"));
    expect(el.querySelector(".slip-sum")!.getAttribute("data-payout")).toBe("2675");
    // A second fixture: an accumulator at the floored combined odds (2140 x 1850 -> 3959).
    act(() => el.querySelector<HTMLButtonElement>('.fixture[data-fixture="BA-002"] button.pick[data-pick="1x2/home"]')!.click());
    expect(el.querySelector<HTMLInputElement>("input[value=accumulator]")!.checked).toBe(true);
    expect(el.querySelector(".slip-sum")!.getAttribute("data-payout")).toBe(String(Math.floor((1250 * 3959) / 1000)));
    expect(el.querySelector(".slip-sum")!.textContent).toContain("Cote totale : 3,96"); // 3.959 shown to two decimals
    // Singles: two bets, the stake each.
    act(() => el.querySelector<HTMLInputElement>("input[value=single]")!.click());
    expect(el.querySelector("label[for=slip-stake]")!.textContent).toBe("Mise par pari (€)");
    expect(el.querySelector(".slip-sum")!.getAttribute("data-payout")).toBe(String(2675 + 2312));
    // A bad stake is flagged, with no payout.
    type(stake, "12,345");
    act(() => stake.dispatchEvent(new FocusEvent("focusout", { bubbles: true })));
    expect(stake.getAttribute("aria-invalid")).toBe("true");
    expect(el.querySelector(".slip-sum")!.getAttribute("data-payout")).toBe("");
    // Not signed in: no submit button, a link to sign in instead.
    expect(el.querySelector(".slip button[type=submit]")).toBeNull();
    expect(el.querySelector(".slip a[href='/connexion']")!.textContent).toBe("Connectez-vous pour parier.");
  });

  it("does not take a suspended price, in English too", () => {
    const el = render("en", [m("BA-001", "suspended", 2140), m("BA-002", "open", 1850)]);
    const btn = el.querySelector<HTMLButtonElement>('.fixture[data-fixture="BA-001"] button.pick')!;
    expect(btn.disabled).toBe(true);
    act(() => btn.click());
    expect(slip.get().legs).toHaveLength(0);
    act(() => el.querySelector<HTMLButtonElement>('.fixture[data-fixture="BA-002"] button.pick[data-pick="1x2/away"]')!.click());
    expect(el.querySelector("[role=status]")!.textContent).toBe("Added to the bet slip: Lille, odds 3.10.");
    act(() => el.querySelector<HTMLButtonElement>("button.slip-bar")!.click());
    expect(el.querySelector(".slip h2")!.textContent).toBe("My bet slip");
    act(() => el.querySelector<HTMLButtonElement>('.fixture[data-fixture="BA-002"] button.pick[data-pick="1x2/away"]')!.click());
    expect(el.querySelector("[role=status]")!.textContent).toBe("Removed from the bet slip: Lille.");
  });
});
