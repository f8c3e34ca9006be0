import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { I18nProvider } from "../i18n";
import { FranceConnectReturn } from "./Identity";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: ReturnType<typeof createRoot> | undefined;
const realFetch = globalThis.fetch;
afterEach(() => {
  act(() => root?.unmount());
  document.body.innerHTML = "";
  globalThis.fetch = realFetch;
});

async function back(query: string, answer: () => Response) {
  window.history.replaceState(null, "", `/identite/franceconnect${query}`);
  const calls: string[] = [];
  globalThis.fetch = vi.fn(async (url: RequestInfo | URL) => {
    calls.push(String(url));
    return answer();
  }) as typeof fetch;
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () => root!.render(<I18nProvider lang="fr"><FranceConnectReturn /></I18nProvider>));
  await act(async () => new Promise((r) => setTimeout(r, 0)));
  return { el, calls };
}
const problem = (status: number) => () => new Response(JSON.stringify({ status, title: "x", detail: "y" }), { status, headers: { "Content-Type": "application/problem+json" } });

describe("the FranceConnect return page", () => {
  it("hands code and state to the callback once and says verified", async () => {
    const { el, calls } = await back("?code=abc&state=s1", () => new Response(JSON.stringify({ franceconnect_logout_url: "u" }), { status: 201 }));
    expect(calls).toEqual(["/api/accounts/v1/kyc/franceconnect/callback?code=abc&state=s1"]);
    expect(el.querySelector("[data-verified=true]")?.textContent).toMatch(/^Votre identité est vérifiée avec FranceConnect\./);
  });
  it("says a refusal in words: under 18, identity taken, an answer that does not verify", async () => {
    for (const [status, text] of [
      [403, "les jeux d'argent sont interdits aux mineurs"],
      [409, "déjà liée à un autre compte"],
      [401, "n'a pas pu être vérifiée"],
    ] as const) {
      const { el } = await back("?code=abc&state=s1", problem(status));
      expect(el.querySelector("[role=alert]")?.textContent).toContain(text);
      expect(el.textContent).not.toContain("{");
      act(() => root?.unmount());
      document.body.innerHTML = "";
    }
  });
  it("does not call the cluster when the provider answered an error", async () => {
    const { el, calls } = await back("?error=access_denied&state=s1", problem(500));
    expect(calls).toEqual([]);
    expect(el.querySelector("[role=alert]")).not.toBeNull();
  });
});

describe("the identity page's document check", () => {
  it("starts the provider's hosted session and says a refusal in words", async () => {
    const { IdentityPage } = await import("./Identity");
    const auth = await import("../auth");
    vi.spyOn(auth, "useSession").mockReturnValue({ playerId: "p1", email: "a@b.fr", accessToken: "tok", refreshToken: "r", expiresAt: Date.now() + 60_000, since: Date.now() });
    const calls: { url: string; method?: string }[] = [];
    globalThis.fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(url), method: init?.method });
      if (String(url).endsWith("/wallet")) return new Response(JSON.stringify({ verified: false }), { status: 200 });
      return new Response(JSON.stringify({ status: 409, title: "Already decided", detail: "x", code: "kyc_decided" }), { status: 409, headers: { "Content-Type": "application/problem+json" } });
    }) as typeof fetch;
    const el = document.createElement("div");
    document.body.append(el);
    root = createRoot(el);
    await act(async () => root!.render(<I18nProvider lang="fr"><IdentityPage /></I18nProvider>));
    await act(async () => new Promise((r) => setTimeout(r, 0)));
    const button = el.querySelector<HTMLButtonElement>("button.document-check")!;
    expect(button.textContent).toBe("Vérifier avec une pièce d'identité");
    await act(async () => button.click());
    await act(async () => new Promise((r) => setTimeout(r, 0)));
    expect(calls.map((c) => `${c.method ?? "GET"} ${c.url}`)).toContain("POST /api/accounts/v1/players/me/kyc/document");
    expect(el.querySelector("[role=alert]")).not.toBeNull();
    expect(el.textContent).not.toContain("{");
    vi.restoreAllMocks();
  });
});
