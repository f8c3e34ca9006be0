import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as auth from "../auth";
import { I18nProvider, translate } from "../i18n";
import { PASSWORD_CODES, WALLET_CODES, problemMessage } from "../problems";
import { PasswordPage } from "./AccountPassword";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: ReturnType<typeof createRoot> | undefined;
const realFetch = globalThis.fetch;
afterEach(() => {
  act(() => root?.unmount());
  document.body.innerHTML = "";
  globalThis.fetch = realFetch;
  vi.restoreAllMocks();
});

interface Call {
  url: string;
  method?: string;
  headers: Record<string, string>;
  body: Record<string, string>;
}

// The page for a signed-in player, the cluster answering @answer.
async function page(answer: () => Response) {
  vi.spyOn(auth, "useSession").mockReturnValue({ playerId: "p1", email: "a@b.fr", accessToken: "tok", refreshToken: "r", expiresAt: Date.now() + 60_000, since: Date.now() });
  const calls: Call[] = [];
  globalThis.fetch = vi.fn(async (url: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(url), method: init?.method, headers: init?.headers as Record<string, string>, body: JSON.parse(String(init?.body)) });
    return answer();
  }) as typeof fetch;
  const el = document.createElement("div");
  document.body.append(el);
  root = createRoot(el);
  await act(async () => root!.render(<I18nProvider lang="fr"><PasswordPage /></I18nProvider>));
  return { el, calls };
}

async function submit(el: HTMLElement, fields: Record<string, string>) {
  for (const [name, value] of Object.entries(fields)) el.querySelector<HTMLInputElement>(`input[name=${name}]`)!.value = value;
  await act(async () => el.querySelector<HTMLButtonElement>("button[type=submit]")!.click());
  await act(async () => new Promise((r) => setTimeout(r, 0)));
}

const refusal = (status: number, code: string) => () =>
  new Response(JSON.stringify({ type: "about:blank", title: "x", status, detail: "raw detail", code }), { status, headers: { "Content-Type": "application/problem+json" } });

describe("the password change's refusals", () => {
  it("says each code in words of its own, in both languages", () => {
    for (const code of PASSWORD_CODES) {
      expect(WALLET_CODES).not.toContain(code);
      const { key } = problemMessage({ status: 401, code });
      expect(translate("en", key)).not.toBe(translate("fr", key));
    }
    const fr = (code: string) => translate("fr", problemMessage({ status: 422, code }).key);
    expect(fr("invalid_password")).toBe("Le mot de passe actuel est incorrect.");
    expect(fr("same_password")).toBe("Le nouveau mot de passe doit être différent de l'actuel.");
    expect(fr("password_policy")).toContain("8 à 128 caractères");
    expect(fr("second_factor_required")).toBe("Saisissez le code de votre application d'authentification.");
  });
});

describe("the password page", () => {
  it("sends the current and the new password with the code, and says how many sessions ended", async () => {
    const { el, calls } = await page(() => new Response(JSON.stringify({ player_id: "p1", sessions_revoked: 2 }), { status: 200 }));
    expect(el.querySelector("h1")?.textContent).toBe("Changer mon mot de passe");
    await submit(el, { current: "old phrase here", new: "a brand new phrase", confirm: "a brand new phrase", code: "123456" });
    expect(calls).toHaveLength(1);
    expect(`${calls[0].method} ${calls[0].url}`).toBe("POST /api/accounts/v1/players/me/password");
    expect(calls[0].headers.Authorization).toBe("Bearer tok");
    expect(calls[0].headers["Idempotency-Key"]).toBeTruthy();
    expect(calls[0].body).toEqual({ current: "old phrase here", new: "a brand new phrase", code: "123456" });
    expect(el.querySelector("[role=status]")?.textContent).toBe("Votre mot de passe est changé. Sessions fermées sur vos autres appareils : 2.");
    expect(el.querySelector<HTMLInputElement>("input[name=current]")!.value).toBe("");
  });
  it("sends a recovery code as one, and nothing when the code is left empty", async () => {
    const { el, calls } = await page(() => new Response(JSON.stringify({ sessions_revoked: 0 }), { status: 200 }));
    await submit(el, { current: "old phrase here", new: "a brand new phrase", confirm: "a brand new phrase", code: "ABCD-EFGH-IJKL-MNOP-QRST-UVWX" });
    await submit(el, { current: "old phrase here", new: "a brand new phrase", confirm: "a brand new phrase" });
    expect(calls.map((c) => c.body)).toEqual([
      { current: "old phrase here", new: "a brand new phrase", recovery_code: "ABCD-EFGH-IJKL-MNOP-QRST-UVWX" },
      { current: "old phrase here", new: "a brand new phrase" },
    ]);
  });
  it("does not send two different new passwords", async () => {
    const { el, calls } = await page(() => new Response("{}", { status: 200 }));
    await submit(el, { current: "old phrase here", new: "a brand new phrase", confirm: "a brand new phrasE" });
    expect(calls).toHaveLength(0);
    expect(el.querySelector("[role=alert]")?.textContent).toBe("Les deux saisies du nouveau mot de passe ne sont pas identiques.");
  });
  it("says a refusal in words", async () => {
    const { el } = await page(refusal(401, "invalid_password"));
    await submit(el, { current: "not it", new: "a brand new phrase", confirm: "a brand new phrase" });
    expect(el.querySelector("[role=alert]")?.textContent).toBe("Le mot de passe actuel est incorrect.");
    expect(el.querySelector("[role=status]")).toBeNull();
  });
});
