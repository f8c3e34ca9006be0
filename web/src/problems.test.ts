import { describe, expect, it } from "vitest";
import { catalogues, translate } from "./i18n";
import { PASSWORD_CODES, WALLET_CODES, problemFrom, problemMessage } from "./problems";

function problemResponse(status: number, body: unknown, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json", ...headers } });
}

describe("problem translations", () => {
  it("maps the nodes' refusals to messages in both languages", () => {
    const cases: [number, string, string][] = [
      [409, "Email taken", "Un compte utilise déjà cette adresse e-mail."],
      [422, "Invalid password", "Ce mot de passe n'est pas accepté : 8 à 128 caractères, et pas un mot de passe trop courant."],
      [401, "Sign-in failed", "L'adresse e-mail ou le mot de passe est incorrect."],
      [503, "Outcome unknown", "Le résultat de la demande est incertain : réessayez, elle ne sera pas appliquée deux fois."],
    ];
    for (const [status, title, fr] of cases) {
      const { key, vars } = problemMessage({ status, title });
      expect(translate("fr", key, vars)).toBe(fr);
      expect(translate("en", key, vars)).not.toBe(translate("fr", key, vars));
    }
  });
  it("prefers the edge's code, then the title, then the status", () => {
    expect(problemMessage({ status: 429, code: "edge.rate_limited", title: "Too many requests" }).key).toBe("problem.rate_limited");
    expect(problemMessage({ status: 503, code: "edge.unavailable" }).key).toBe("problem.unavailable");
    expect(problemMessage({ status: 418, title: "Something new" }).key).toBe("problem.generic");
    expect(problemMessage({ status: 0 }).key).toBe("problem.network");
    expect(problemMessage({ status: 500 }).key).toBe("problem.server");
    expect(problemMessage({ status: 422, title: "Unknown field" }).key).toBe("problem.bad_request");
  });
  it("puts the Retry-After of a lock-out in the message", async () => {
    const p = await problemFrom(problemResponse(429, { type: "about:blank", title: "Too many failed sign-ins", status: 429, detail: "x" }, { "Retry-After": "30" }));
    const { key, vars } = problemMessage(p);
    expect(translate("en", key, vars)).toBe("Too many failed sign-ins: try again in 30 s.");
    expect(translate("fr", key, vars)).toContain("30 s");
  });
  it("never shows the raw body, even when it is not JSON", async () => {
    const p = await problemFrom(new Response("<html>bad gateway</html>", { status: 502 }));
    expect(p.status).toBe(502);
    const { key, vars } = problemMessage(p);
    expect(translate("fr", key, vars)).toBe("Le service est momentanément indisponible. Réessayez dans un instant.");
  });
  it("has every message in both languages", () => {
    expect(Object.keys(catalogues.en).sort()).toEqual(Object.keys(catalogues.fr).sort());
    for (const v of Object.values(catalogues.en)) expect(v.length).toBeGreaterThan(0);
  });

  it("translates every wallet and password-change code in both languages, never as the generic message", () => {
    // The codes consensus/wallet.h documents and consensus/wallet.c answers.
    const documented = ["insufficient_funds", "deposit_limit", "stake_limit", "limits_required", "self_excluded", "account_blocked", "account_deactivated", "debt_outstanding", "not_verified", "no_payment_account", "hold_exists", "hold_already_posted", "hold_already_voided", "hold_expired", "post_exceeds_hold", "unknown_cluster", "no_such_player", "no_such_hold", "amount_invalid", "invalid_limits", "invalid_exclusion", "deposit_state", "withdrawal_state", "amount_mismatch", "no_such_transfer", "no_such_deposit", "no_such_withdrawal", "withdrawal_exists", "transfer_exists", "invalid_block", "invalid_cluster", "invalid_correction", "invalid_event", "invalid_link", "invalid_payout", "deposit_exists", "banned", "account_closed", "invalid_ban"];
    for (const code of documented) expect(WALLET_CODES, code).toContain(code);
    for (const code of [...WALLET_CODES, ...PASSWORD_CODES]) {
      const { key, vars } = problemMessage({ status: 403, code, title: "Something", detail: "raw detail" });
      expect(key, code).not.toBe("problem.generic");
      for (const lang of ["fr", "en"] as const) {
        const text = translate(lang, key, vars);
        expect(text, `${code} ${lang}`).not.toContain("{");
        expect(text).not.toContain("raw detail");
        expect(text).not.toBe(key);
      }
    }
    expect(translate("fr", problemMessage({ status: 403, code: "not_verified" }).key)).toBe("Retrait refusé : votre identité doit d'abord être vérifiée (FranceConnect ou pièce d'identité).");
    expect(translate("en", problemMessage({ status: 403, code: "limits_required" }).key)).toBe("Set your deposit and stake limits before your first deposit or bet.");
    expect(problemMessage({ status: 409, code: "insufficient_funds", title: "Insufficient funds" }).key).toBe("problem.insufficient_funds");
    expect(problemMessage({ status: 502, title: "Payment provider unavailable" }).key).toBe("problem.payments_unavailable");
    expect(problemMessage({ status: 422, title: "Invalid amount" }).key).toBe("problem.amount_invalid");
  });
});
