// The operator's console in Chromium against the real deployment behind the edge. The operator
// is made from the test side with the bootstrap admin token (which never reaches the browser),
// enrols and confirms its TOTP here; the browser then signs in with e-mail, password and a code.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { artifacts, deployment } from "./deployment";

const d = deployment();
const shot = (page: Page, name: string) => page.screenshot({ path: resolve(artifacts, `${name}.png`), fullPage: true });

async function accessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

function base32(s: string): Buffer {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0, v = 0;
  const out: number[] = [];
  for (const ch of s.replace(/=+$/, "").toUpperCase()) {
    const i = abc.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    v = (v << 5) | i;
    bits += 5;
    if (bits >= 8) { out.push((v >>> (bits - 8)) & 0xff); bits -= 8; }
  }
  return Buffer.from(out);
}

// RFC 6238 (HMAC-SHA1, 30 s steps, 6 digits) for the step @step.
function totp(secret: string, step: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac("sha1", base32(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).toString();
  return n.padStart(6, "0");
}

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Idempotency-Key": randomUUID() };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${d.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

test("an operator signs in to the console and sees cluster health, switches, liability, the ledger", async ({ page }) => {
  const admin = readFileSync(resolve(d.runDir, "admin.token"), "utf8").trim();
  const email = `ops-${Date.now()}@example.fr`;
  const password = "Une-phrase-de-passe-solide-42";
  const made = await post("/api/accounts/admin/v1/operators", { name: "Console test", email, password, scopes: ["cluster", "bets", "wallet", "oracle"] }, admin);
  expect(made.status, JSON.stringify(made.json)).toBe(201);
  const enrol = await post("/api/accounts/v1/operators/totp", { email, password });
  expect(enrol.status, JSON.stringify(enrol.json)).toBe(201);
  const secret: string = enrol.json.secret;
  const step = Math.floor(Date.now() / 30_000);
  const conf = await post("/api/accounts/v1/operators/totp/confirm", { email, password, code: totp(secret, step) });
  expect(conf.status, JSON.stringify(conf.json)).toBeLessThan(300);

  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${d.url}/console/`);
  await expect(page.getByRole("heading", { level: 1, name: "Console d'exploitation" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 2, name: "Connexion opérateur" })).toBeVisible();
  await accessible(page, "console-signin");
  // A used code is refused, translated from its code.
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByLabel("Code à usage unique (TOTP)").fill(totp(secret, step));
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("alert")).toHaveText("Code à usage unique incorrect ou déjà utilisé.");
  await shot(page, "c1-console-signin-refused");
  // The next step's code (the window allows one step ahead) signs in.
  await page.getByLabel("Code à usage unique (TOTP)").fill(totp(secret, step + 1));
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByText(/^Opérateur .* — droits : /)).toBeVisible({ timeout: 30_000 });
  // The token is in memory only.
  expect(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie)).toBe("{}{}");

  // Cluster health: a leader for football and for accounts, members with their lag.
  await expect(page.getByRole("heading", { level: 2, name: "État des grappes" })).toBeVisible();
  for (const c of ["football", "accounts"]) {
    const card = page.locator(`[data-cluster=${c}]`);
    await expect(card.locator(".leader")).toHaveText(/^Leader : nœud \d+$/);
    await expect(card.locator("tbody tr")).toHaveCount(3);
    await expect(card.locator("tbody td.lag").first()).toHaveText(/^\d+$/);
  }
  await shot(page, "c2-console-cluster");
  await accessible(page, "console-cluster");

  // Live betting turned the other way and back (the local deployment starts with it off),
  // each change checked on a football node with the admin token.
  await page.getByRole("link", { name: "Paris et interrupteurs" }).click();
  const live = page.locator("[data-switch=live]");
  await expect(live).toHaveAttribute("data-open", /^(true|false)$/);
  const initially = (await live.getAttribute("data-open")) === "true";
  const liveOnNode = () =>
    fetch(`${d.url}/api/football/admin/v1/bets/switches`, { headers: { Authorization: `Bearer ${admin}` } })
      .then((r) => r.json())
      .then((j: { live: boolean }) => j.live);
  for (const open of [!initially, initially]) {
    const name = open ? "Ouvrir : Paris en direct" : "Fermer : Paris en direct";
    await live.getByRole("button", { name }).click();
    await expect(live).toHaveAttribute("data-open", String(open));
    await expect(live.locator(".state")).toHaveText(open ? "ouverts" : "fermés");
    await expect.poll(liveOnNode).toBe(open);
    if (open !== initially) {
      await shot(page, "c3-console-bets");
      await accessible(page, "console-bets");
    }
  }

  // A fixture's liability.
  await page.getByRole("link", { name: "Exposition d'un match" }).click();
  await expect(page.getByLabel("Match").locator("option").first()).toBeAttached();
  await page.getByRole("button", { name: "Afficher l'exposition" }).click();
  await expect(page.locator("[data-liability] .total")).toHaveText(/^Exposition totale : .*€ \(plafond .*€\)$/);
  await shot(page, "c4-console-liability");
  await accessible(page, "console-liability");

  // The ledger check.
  await page.getByRole("link", { name: "Grand livre et TRJ" }).click();
  await expect(page.locator(".ledger-check")).toHaveAttribute("data-ok", "true");
  await expect(page.locator(".ledger-check")).toHaveText("Grand livre cohérent");
  await shot(page, "c5-console-ledger");
  await accessible(page, "console-ledger");

  // The oracle page answers (its content depends on the chain being configured).
  await page.getByRole("link", { name: "Oracle" }).click();
  await expect(page.getByRole("heading", { level: 3, name: "Soumissions de résultats à la chaîne" })).toBeVisible();
  await shot(page, "c6-console-oracle");
  expect(errors).toEqual([]);
});
