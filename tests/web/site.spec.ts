// The bettor's site in Chromium against the real deployment behind the edge. The tests run in
// this order: the fail-over ones kill a football node, then an accounts node; the rate-limit
// one (last) uses up the anonymous-write allowance.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { artifacts, deployment, nodeUrl } from "./deployment";
import { consoleSignIn, makeOperator } from "./operator";

const d = deployment();
const shot = (page: Page, name: string) => page.screenshot({ path: resolve(artifacts, `${name}.png`), fullPage: false });

// axe-core on the page as it is: no serious or critical violation.
async function accessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

async function noRawErrors(page: Page) {
  await expect(page.locator("[role=alert]")).toHaveCount(0);
  await expect(page.locator("body")).not.toContainText('"status"');
}

test("the board shows every fixture and its agreed prices, in French then English", async ({ page }) => {
  // Nothing refused by the CSP (self only), no script error.
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${d.url}/`);
  await expect(page.getByRole("heading", { level: 1, name: "Les cotes" })).toBeVisible();
  await expect(page.locator("[data-stream=open]")).toBeVisible();
  const open = page.locator(".fixture[data-status=open]");
  await expect(open.first()).toBeVisible();
  expect(await page.locator(".fixture").count()).toBeGreaterThanOrEqual(5);
  await expect(open.first().locator(".price")).toHaveCount(3);
  await expect(open.first().locator(".price .value").first()).toHaveText(/^\d+,\d\d$/);
  await expect(page.getByText("Les jeux d'argent sont interdits aux mineurs (18+).")).toBeVisible();
  await expect(page.getByText(/09-74-75-13-13/)).toBeVisible();
  await shot(page, "01-board-fr");
  await accessible(page, "board");
  await page.getByLabel("Langue").selectOption("en");
  await expect(page.getByRole("heading", { level: 1, name: "Odds" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await expect(open.first().locator(".price .value").first()).toHaveText(/^\d+\.\d\d$/);
  await shot(page, "02-board-en");
  await noRawErrors(page);
  expect(errors).toEqual([]);
});

test("a price moves live and is marked up or down", async ({ page }) => {
  await page.goto(`${d.url}/`);
  await expect(page.locator("[data-stream=open]")).toBeVisible();
  const moved = page.locator(".price[data-moved]");
  await expect(moved.first()).toBeVisible({ timeout: 90_000 });
  await expect(moved.first().locator(".sr-only").last()).toHaveText(/^, en (hausse|baisse)$/);
  await shot(page, "03-price-moved");
  // The mark goes away after a few seconds.
  const row = page.locator(".fixture", { has: moved.first() }).first();
  const id = await row.getAttribute("data-fixture");
  await expect(page.locator(`.fixture[data-fixture="${id}"] .price[data-moved]`)).toHaveCount(0, { timeout: 15_000 });
});

test("a fixture page lists every market", async ({ page }) => {
  await page.goto(`${d.url}/`);
  const link = page.locator(".fixture[data-status=open] a.teams").first();
  await expect(link).toBeVisible();
  await link.click();
  await expect(page).toHaveURL(/\/match\//);
  await expect(page.locator("table[data-market='1x2']")).toBeVisible();
  for (const m of ["double_chance", "total_goals", "btts", "correct_score", "asian_handicap"])
    await expect(page.locator(`table[data-market='${m}']`)).toBeVisible();
  await expect(page.getByRole("table", { name: "Nombre de buts" }).getByRole("rowheader", { name: "Plus de 2,5" })).toBeVisible();
  await shot(page, "04-fixture");
  await accessible(page, "fixture");
  await noRawErrors(page);
});

test("a player registers and signs in through the site; refusals are translated", async ({ page }) => {
  const email = `joueur-${Date.now()}@example.fr`;
  const password = "un secret assez long";
  await page.goto(`${d.url}/`);
  await page.getByRole("link", { name: "Créer un compte" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Créer un compte" })).toBeVisible();
  await accessible(page, "register");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByLabel("J'ai 18 ans ou plus").check();
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Compte créé pour ${email}` })).toBeVisible({ timeout: 30_000 });
  await shot(page, "05-registered");
  // The same address again: the node's 409 "Email taken", shown in French.
  await page.getByRole("button", { name: "Créer mon compte" }).click();
  await expect(page.getByRole("alert")).toHaveText("Un compte utilise déjà cette adresse e-mail.", { timeout: 30_000 });
  await shot(page, "06-email-taken");

  await page.getByRole("navigation").getByRole("link", { name: "Se connecter" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Se connecter" })).toBeVisible();
  await accessible(page, "sign-in");
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill("pas le bon mot de passe");
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByRole("alert")).toHaveText("L'adresse e-mail ou le mot de passe est incorrect.", { timeout: 30_000 });
  await expect(page.getByRole("alert")).toBeFocused();
  await shot(page, "07-signin-refused");
  await page.getByLabel("Mot de passe").fill(password);
  await page.getByRole("button", { name: "Se connecter" }).click();
  await expect(page.getByText(`Connecté : ${email}`)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByRole("heading", { level: 1, name: "Les cotes" })).toBeVisible();
  // Tokens are kept in memory only.
  expect(await page.evaluate(() => JSON.stringify(localStorage) + document.cookie)).toBe("{}");
  await shot(page, "08-signed-in");
});

test("the console page is there and accessible", async ({ page }) => {
  await page.goto(`${d.url}/console/`);
  await expect(page.getByRole("heading", { level: 1, name: "Console d'exploitation" })).toBeVisible();
  await accessible(page, "console");
  await shot(page, "09-console");
});

function streamClients(i: number): Promise<number> {
  return fetch(`${nodeUrl(d, "football", i)}/metrics`)
    .then((r) => r.text())
    .then((t) => Number(/^parlay_stream_clients (\d+)/m.exec(t)?.[1] ?? 0))
    .catch(() => 0);
}

test("a football node killed: the edge fails over and the board keeps updating; the console shows the node down", async ({ page, context }) => {
  // An operator watches the football cluster in the console while the player watches the board.
  const op = await makeOperator(d, "Node watch", ["cluster"]);
  const ops = await context.newPage();
  await ops.goto(`${d.url}/console/`);
  await consoleSignIn(ops, op);
  const card = ops.locator("[data-cluster=football]");
  await expect(card.locator("tbody tr[data-state=up]")).toHaveCount(3, { timeout: 30_000 });
  await page.goto(`${d.url}/`);
  const stream = page.locator("[data-stream]");
  await expect(page.locator("[data-stream=open]")).toBeVisible();
  await expect(stream).toHaveAttribute("data-last-id", /\d+/, { timeout: 60_000 });
  // The node that serves this page's quote stream (the only stream client of the deployment).
  let victim = 0;
  await expect
    .poll(async () => {
      for (const i of [1, 2, 3]) if ((await streamClients(i)) > 0) victim = i;
      return victim;
    })
    .toBeGreaterThan(0);
  const pid = Number(readFileSync(resolve(d.runDir, "pids", `football-${victim}.pid`), "utf8"));
  process.kill(pid, "SIGKILL");
  const atKill = Number(await stream.getAttribute("data-last-id"));
  await shot(page, "10-node-killed");
  // The operator sees that node unreachable (and the others up) within seconds.
  await expect(card.locator(`tbody tr[data-member="${victim}"]`)).toHaveAttribute("data-state", "down", { timeout: 15_000 });
  await expect(card.locator(".nodes-down")).toHaveText(`Nœud ${victim} injoignable`);
  await expect(card.locator("tbody tr[data-state=up]")).toHaveCount(2);
  await ops.screenshot({ path: resolve(artifacts, "10b-console-node-down.png"), fullPage: true });
  // The stream resumes on another node (Last-Event-ID) and new quotes keep arriving.
  await expect.poll(async () => Number(await stream.getAttribute("data-last-id")), { timeout: 60_000 }).toBeGreaterThan(atKill + 2);
  const others = [1, 2, 3].filter((i) => i !== victim);
  await expect.poll(async () => (await streamClients(others[0])) + (await streamClients(others[1])), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect(page.locator("[data-stream=open]")).toBeVisible();
  await noRawErrors(page);
  // A new page load works too: the edge skips the dead node for reads.
  await page.reload();
  await expect(page.locator(".fixture[data-status=open]").first()).toBeVisible();
  await noRawErrors(page);
  await shot(page, "11-after-failover");
});

test("an accounts node down: writes through the edge go to the others, retried only when refused", async ({ request }) => {
  const victim = 1;
  const port = 8200 + victim + d.shift;
  process.kill(Number(readFileSync(resolve(d.runDir, "pids", `accounts-${victim}.pid`), "utf8")), "SIGKILL");
  await expect.poll(() => fetch(`${d.scheme ?? "http"}://127.0.0.1:${port}/healthz`).then(() => "up", () => "down")).toBe("down");
  // Four registrations in a row: round robin sends one of them to the dead node, whose
  // connection is refused, and the edge passes that POST to the next node (it never reached
  // one). A node's 503 while the others elect a leader is retried with the same
  // Idempotency-Key, as the site does.
  for (let i = 0; i < 4; i++) {
    const key = `edge-failover-${Date.now()}-${i}`;
    const email = `edge-${Date.now()}-${i}@example.fr`;
    let status = 0;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await request.post(`${d.url}/api/accounts/v1/players`, {
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        data: { email, password: "un secret assez long" },
      });
      status = res.status();
      // The edge's own 503 (no node took it) would mean the fail-over did not happen.
      if (status !== 503 || (await res.json()).code === "edge.unavailable") break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(status, `registration ${i}`).toBe(201);
  }
  const log = readFileSync(resolve(d.runDir, "edge/logs/error.log"), "utf8");
  expect(log).toMatch(new RegExp(`Connection refused\\) while connecting to upstream.*request: "POST /api/accounts/v1/players.*upstream: "https?://127\\.0\\.0\\.1:${port}/`));
});

test("the edge sends the security headers and refuses too many sign-ins", async ({ request }) => {
  const r = await request.get(`${d.url}/`);
  const h = r.headers();
  expect(h["content-security-policy"]).toContain("connect-src 'self'");
  expect(h["content-security-policy"]).toContain("frame-ancestors 'none'");
  expect(h["x-content-type-options"]).toBe("nosniff");
  expect(h["referrer-policy"]).toBeTruthy();
  expect(h["permissions-policy"]).toContain("camera=()");
  // HSTS only over HTTPS (gen.sh writes it into hsts.conf then; never on plain HTTP).
  if (d.scheme === "https") expect(h["strict-transport-security"]).toContain("max-age=31536000");
  else expect(h["strict-transport-security"]).toBeUndefined();
  // Anonymous writes are limited per address (20 a minute, a burst of 10): a 429 problem.
  let limited;
  for (let i = 0; i < 40 && !limited; i++) {
    const res = await request.post(`${d.url}/api/accounts/v1/sessions`, {
      headers: { "Content-Type": "application/json", "Idempotency-Key": `rl-${Date.now()}-${i}` },
      data: { email: "nobody@example.fr", password: "wrong" },
    });
    if (res.status() === 429 && (await res.json()).code === "edge.rate_limited") limited = res;
  }
  expect(limited, "the edge's rate limit answered 429").toBeTruthy();
  expect(limited!.headers()["content-type"]).toBe("application/problem+json");
  expect(limited!.headers()["retry-after"]).toBe("10");
});
