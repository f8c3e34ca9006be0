import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Bet } from "./bets";
import { CashOut } from "./CashOut";
import { cashoutMessage, refreshDelay } from "./cashout";
import { I18nProvider, translate, type Lang } from "./i18n";
import { BetItem } from "./pages/MyBets";
import { CASHOUT_CODES, WALLET_CODES, problemMessage } from "./problems";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const bet: Bet = {
  id: "b000000000003",
  status: "accepted",
  kind: "single",
  stake: 1000,
  odds: 2140,
  payout: 2140,
  policy: "exact",
  placed_at: "2026-12-04T15:09:00Z",
  legs: [{ fixture: "FB-1001", market: "1x2", outcome: "home", price: 2140, price_seen: 2140, version: 3, result: null }],
};
const offer = (amount: number, version = 7) => ({
  bet_id: bet.id,
  offer: `o${Date.now() + 5000}.00112233445566778899aabbccddeeff`,
  amount,
  fair_value: Math.floor(amount / 0.95),
  margin_bp: 500,
  versions: [version],
  expires_ms: Date.now() + 5000,
  validity_ms: 5000,
});
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });
const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  json(status, { type: "about:blank", title: "Refused", status, detail: `raw ${code} detail`, code, ...extra });

interface Call {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}
let calls: Call[] = [];
let answers: (() => Response)[] = [];
beforeEach(() => {
  calls = [];
  answers = [];
  vi.stubGlobal("fetch", async (url: string, init?: RequestInit) => {
    calls.push({ method: init?.method ?? "GET", url, headers: (init?.headers ?? {}) as Record<string, string>, body: init?.body ? JSON.parse(init.body as string) : undefined });
    const next = answers.shift();
    if (!next) return new Promise<Response>(() => undefined); // nothing more: never answers
    return next();
  });
});

let root: ReturnType<typeof createRoot> | undefined;
afterEach(() => {
  act(() => root?.unmount());
  root = undefined;
  document.body.innerHTML = "";
  vi.unstubAllGlobals();
});
const text = (el: Element | null) => (el?.textContent ?? "").replace(/[\u00a0\u202f]/g, " ");
const flush = () => act(async () => { for (let i = 0; i < 5; i++) await Promise.resolve(); await new Promise((r) => setTimeout(r, 0)); });

async function render(tick = "0", lang: Lang = "fr", b: Bet = bet) {
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  act(() => root!.render(<I18nProvider lang={lang}><CashOut bet={b} token="tok" tick={tick} /></I18nProvider>));
  await flush();
  return el;
}
async function rerender(tick: string) {
  act(() => root!.render(<I18nProvider lang="fr"><CashOut bet={bet} token="tok" tick={tick} /></I18nProvider>));
  await flush();
}

describe("cash-out in Mes paris", () => {
  it("shows the live offer in euros and asks again when a quote of the game moves", async () => {
    answers.push(() => json(200, offer(1090)));
    const el = await render();
    expect(calls[0]).toMatchObject({ method: "GET", url: "/api/football/v1/bets/b000000000003/cashout" });
    expect(calls[0].headers.Authorization).toBe("Bearer tok");
    expect(text(el.querySelector(".cashout-take"))).toBe("Encaisser 10,90 €");
    answers.push(() => json(200, offer(1123, 8)));
    await rerender("1");
    expect(calls).toHaveLength(2);
    expect(text(el.querySelector(".cashout-take"))).toBe("Encaisser 11,23 €");
  });

  it("takes the offer with its token, amount and versions, once, and says what was credited", async () => {
    const o = offer(1090);
    answers.push(() => json(200, o));
    const el = await render();
    answers.push(() => json(200, { ...bet, status: "settled", result: "cashed_out", return: 1090 }));
    await act(async () => (el.querySelector(".cashout-take") as HTMLButtonElement).click());
    await flush();
    const post = calls[1];
    expect(post.method).toBe("POST");
    expect(post.url).toBe("/api/football/v1/bets/b000000000003/cashout");
    expect(post.body).toEqual({ offer: o.offer, amount: 1090, versions: [7] });
    expect(post.headers["Idempotency-Key"]).toMatch(/.{16,}/);
    expect(text(el.querySelector("[data-cashout=done]"))).toBe("Pari encaissé : 10,90 € crédités sur votre solde.");
    expect(el.querySelector(".cashout-take")).toBeNull();
  });

  it("explains a refused accept in French and shows the new offer", async () => {
    answers.push(() => json(200, offer(1090)));
    const el = await render();
    answers.push(() => problem(409, "price_changed", { versions: [8], amount: 1050 }));
    answers.push(() => json(200, offer(1050, 8)));
    await act(async () => (el.querySelector(".cashout-take") as HTMLButtonElement).click());
    await flush();
    expect(text(el.querySelector(".cashout-refusal"))).toBe(
      "Encaissement refusé : Les cotes ont bougé : le montant a été recalculé, vérifiez la nouvelle offre.",
    );
    expect(text(el.querySelector(".cashout-take"))).toBe("Encaisser 10,50 €");
    expect(el.textContent).not.toContain("price_changed");
    expect(el.textContent).not.toContain("raw");
  });

  it("says why there is no offer: a goal suspended the game, the switch is off, expired", async () => {
    answers.push(() => problem(409, "market_suspended", { fixture: "FB-1001" }));
    const el = await render();
    expect(el.querySelector(".cashout-take")).toBeNull();
    expect(text(el.querySelector(".cashout-unavailable"))).toBe(
      "Encaissement indisponible : Le match est suspendu (but, carton, penalty…) : l'encaissement reprendra avec les nouvelles cotes.",
    );
    answers.push(() => problem(409, "cashout_off"));
    await rerender("1");
    expect(text(el.querySelector(".cashout-unavailable"))).toBe("Encaissement indisponible : L'encaissement anticipé est désactivé pour le moment.");
    const m = cashoutMessage({ status: 409, code: "cashout_expired" });
    expect(translate("fr", m.key, m.vars)).toBe("L'offre a expiré : une nouvelle offre vient d'être calculée.");
  });

  it("is not shown for a bet that is not accepted, and a cashed-out bet says so", async () => {
    const el = await render("0", "fr", { ...bet, status: "pending_hold" });
    expect(el.querySelector(".cashout")).toBeNull();
    expect(calls).toHaveLength(0);
    const li = document.createElement("ul");
    document.body.append(li);
    const r2 = createRoot(li);
    act(() => r2.render(<I18nProvider lang="fr"><BetItem bet={{ ...bet, status: "settled", result: "cashed_out", return: 1090 }} names={{}} /></I18nProvider>));
    expect(text(li.querySelector(".bet-head"))).toBe("Simple Réglé : Encaissé");
    expect(text(li.querySelector("[data-field=return] dd"))).toBe("10,90 €");
    act(() => r2.unmount());
  });

  it("translates every cash-out code in both languages, never generically", () => {
    for (const code of [...CASHOUT_CODES, "market_suspended", "price_changed", "betting_closed", "not_offered"]) {
      expect(WALLET_CODES).not.toContain(code);
      const m = cashoutMessage({ status: 409, code, detail: "raw detail" });
      expect(m.key, code).not.toBe("problem.generic");
      expect(m.key, code).not.toBe(problemMessage({ status: 409 }).key);
      for (const lang of ["fr", "en"] as const) {
        const s = translate(lang, m.key, m.vars);
        expect(s, `${code} ${lang}`).not.toContain("{");
        expect(s).not.toBe(m.key);
        expect(s).not.toContain(code);
      }
    }
  });

  it("asks again shortly before the offer runs out", () => {
    expect(refreshDelay(10_000, 5_000)).toBe(4_500);
    expect(refreshDelay(5_100, 5_000)).toBe(500);
  });
});
