// A new player's money journey in Chromium against the real deployment behind the edge: sign
// up, the mandatory limits, a deposit through the payment stand-in's hosted page, a withdrawal
// refused (identity not verified), a limit raise pending under the 48-hour rule. This file runs
// before site.spec.ts (files run in name order), whose last tests kill nodes and use up the
// edge's allowance of anonymous writes.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { resolve } from "node:path";
import { artifacts, deployment } from "./deployment";

const d = deployment();
const shot = (page: Page, name: string) => page.screenshot({ path: resolve(artifacts, `${name}.png`), fullPage: false });

async function accessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

// The player of this file: the wallet test creates and funds them, the bet test reuses them
// (the session is in memory only, so each test signs in again).
const email = `parieur-${Date.now()}@example.fr`;
const password = "un secret assez long";

async function signIn(page: Page) {
  await page.goto(`${d.url}/connexion`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByText(`Connecté : ${email}`)).toBeVisible({ timeout: 30_000 });
}

test.describe.configure({ mode: "serial" });

test("wallet journey: limits required, a deposit on the hosted page, a withdrawal refused, a raise pending", async ({ page, context }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Sign up and sign in.
  await page.goto(`${d.url}/inscription`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByLabel("J'ai 18 ans ou plus").check();
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Compte créé pour ${email}` })).toBeVisible({ timeout: 30_000 });
  await page.getByRole("navigation").getByRole("link", { name: "Se connecter" }).click();
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByText(`Connecté : ${email}`)).toBeVisible({ timeout: 30_000 });

  // A deposit before any limit: the accounts cluster answers limits_required and the site
  // sends the player to the limits page.
  await page.getByRole("navigation").getByRole("link", { name: "Mon portefeuille" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Mon portefeuille" })).toBeVisible();
  await expect(page.locator("[data-balance=balance] dd")).toHaveText("0,00 €");
  await accessible(page, "wallet");
  await shot(page, "20-wallet-empty");
  await page.getByLabel("Montant du dépôt (€)").fill("50,00");
  await page.getByRole("button", { name: "Déposer" }).click();
  await expect(page).toHaveURL(/\/limites\?requis=1$/, { timeout: 30_000 });
  await expect(page.getByText("Avant votre premier dépôt, fixez vos limites : c'est obligatoire.")).toBeVisible();
  await expect(page.getByText(/Règle des 48 heures/)).toBeVisible();
  await accessible(page, "limits");
  await shot(page, "21-limits-required");
  await page.getByLabel("Limite de dépôt sur 7 jours (€)").fill("200");
  await page.getByLabel("Limite de mise sur 7 jours (€)").fill("100,00");
  await page.getByRole("button", { name: "Enregistrer mes limites" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Limites enregistrées." })).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("[data-limit=deposit_7d] .current")).toHaveText("Actuelle : 200,00 €");
  await expect(page.locator("[data-limit=stake_7d] .current")).toHaveText("Actuelle : 100,00 €");

  // The deposit: the provider's hosted page opens in a new tab; the player pays there and
  // comes back to the wallet, which sees the deposit succeed.
  await page.getByRole("link", { name: "Mon portefeuille" }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: "Mon portefeuille" })).toBeVisible();
  await page.getByLabel("Montant du dépôt (€)").fill("50,00");
  const popup = context.waitForEvent("page");
  await page.getByRole("button", { name: "Déposer" }).click();
  const pay = await popup;
  await pay.waitForLoadState();
  expect(pay.url()).toMatch(/\/pay\/[^/]+$/);
  await expect(pay.locator("body")).toContainText("50");
  await shot(pay, "22-hosted-payment-page");
  await pay.locator("#pay").click();
  await pay.waitForLoadState();
  await pay.close();
  await page.bringToFront();
  await expect(page.locator(".deposit-state")).toHaveAttribute("data-deposit-status", "succeeded", { timeout: 60_000 });
  await expect(page.locator(".deposit-state")).toContainText("Dépôt de 50,00 € reçu");
  await expect(page.locator("[data-balance=balance] dd")).toHaveText("50,00 €", { timeout: 30_000 });
  await expect(page.locator("[data-balance=available] dd")).toHaveText("50,00 €");
  const line = page.locator("table.statement tbody tr[data-kind=deposit]");
  await expect(line).toHaveCount(1, { timeout: 30_000 });
  await expect(line).toContainText("Dépôt");
  await expect(line.locator("td.num")).toHaveText("50,00 €");
  await shot(page, "23-deposit-credited");

  // A withdrawal: refused, the identity is not verified; the refusal in French, no raw JSON.
  await page.getByLabel("Montant du retrait (€)").fill("10");
  await page.getByRole("button", { name: "Retirer" }).click();
  const alert = page.getByRole("alert");
  await expect(alert).toHaveText(/^Retrait refusé : votre identité doit d'abord être vérifiée/, { timeout: 30_000 });
  await expect(alert).toBeFocused();
  await expect(page.locator("body")).not.toContainText('"status"');
  await expect(page.locator("body")).not.toContainText("not_verified");
  await expect(page.locator("[data-balance=balance] dd")).toHaveText("50,00 €");
  await shot(page, "24-withdrawal-refused");

  // Raising a limit waits 48 hours: shown pending with its date; the limit in force stays.
  await page.getByRole("navigation").getByRole("link", { name: "Mes limites" }).click();
  await expect(page.locator("[data-limit=deposit_7d] .current")).toHaveText("Actuelle : 200,00 €");
  await page.getByLabel("Limite de dépôt sur 7 jours (€)").fill("300,00");
  await page.getByRole("button", { name: "Enregistrer mes limites" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Limites enregistrées." })).toBeVisible({ timeout: 30_000 });
  const pending = page.locator("[data-limit=deposit_7d] .pending");
  await expect(pending).toHaveAttribute("data-pending", "30000");
  // "Hausse à 300,00 € en attente : effective le 6 décembre 2026 à 15:42." (Paris time).
  const day = new Intl.DateTimeFormat("fr-FR", { dateStyle: "long", timeZone: "Europe/Paris" }).format(new Date(Date.now() + 48 * 3600_000));
  const spaces = (x: string) => x.replace(/[\s\u00a0\u202f]+/g, " ");
  await expect.poll(async () => spaces((await pending.textContent()) ?? "")).toMatch(new RegExp(`^Hausse à 300,00 € en attente : effective le ${spaces(day)} à \\d\\d:\\d\\d\\.$`));
  await expect(page.locator("[data-limit=deposit_7d] .current")).toHaveText("Actuelle : 200,00 €");
  await shot(page, "25-limit-raise-pending");
  expect(errors).toEqual([]);
});
