// The live journey, run last (after site.spec.ts: it waits for a simulated game to end, and
// the board and fixture tests want open markets), with the player of journey.spec.ts (its
// email and password in build/web-artifacts/player.json, written once they signed up).
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { artifacts, deployment, nodeUrl, top } from "./deployment";

const d = deployment();
const shot = (page: Page, name: string) => page.screenshot({ path: resolve(artifacts, `${name}.png`), fullPage: false });

async function accessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

const playerFile = resolve(artifacts, "player.json");
const { email, password } = existsSync(playerFile) ? (JSON.parse(readFileSync(playerFile, "utf8")) as { email: string; password: string }) : { email: "", password: "" };
const holdsWired = /"accounts_urls"/.test(readFileSync(resolve(d.runDir, "config", "football-1.json"), "utf8"));

// site.spec.ts used up the edge's allowance of anonymous writes (20 a minute): the sign-in is
// sent again until the edge lets it through.
async function signIn(page: Page) {
  await page.goto(`${d.url}/connexion`);
  await page.getByLabel("Adresse e-mail").fill(email);
  await page.getByLabel("Mot de passe").fill(password);
  const done = page.getByText(`Connecté : ${email}`);
  await expect(async () => {
    if (!(await done.isVisible())) await page.getByRole("button", { name: "Se connecter" }).click();
    await expect(done).toBeVisible({ timeout: 3_000 });
  }).toPass({ timeout: 60_000 });
}


// The operator turns live betting on (the admin API through parlayctl, from the test, never from
// the browser); the player bets on the live game nearest its end: the slip shows the 5 s
// acceptance delay (bet_delay_live_ms of the football nodes), then the bet accepted, or refused
// with the reason in French when the price moved or a goal came during the delay. Mes paris
// follows the bet stream: the bet settles when the game ends and the balance shown follows,
// without a reload. The simulated afternoon runs at 10x: a game lasts about 11 minutes.
test("live journey: live betting turned on, a live bet through its acceptance delay, settled when the game ends, the balance shown without reload", async ({ page, request }) => {
  test.skip(!holdsWired, "the football nodes of cluster-config/local have no accounts_urls: bet holds are never placed");
  test.skip(!email, "journey.spec.ts did not sign a player up");
  test.setTimeout(15 * 60_000);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // parlayctl through the first football node that answers (site.spec.ts killed one).
  const ctl = (...args: string[]) => {
    let last: unknown;
    for (const i of [1, 2, 3]) {
      const env = { ...process.env, PARLAY_URL: nodeUrl(d, "football", i), PARLAY_TOKEN_FILE: resolve(d.runDir, "admin.token"), PARLAY_CA_FILE: resolve(d.runDir, "certs/ca.pem") };
      try {
        return execFileSync(resolve(top, "build/parlayctl"), args, { env, encoding: "utf8", timeout: 30_000 });
      } catch (e) {
        last = e;
      }
    }
    throw last;
  };
  ctl("bets", "switch", "live", "on");
  expect(JSON.parse(ctl("bets", "switches")).live).toBe(true);

  // The live game nearest its end (furthest on the clock), with an open match-result market.
  type M = { fixture: string; status: string; prices?: { "1x2"?: { home?: number } }; live?: { minute: number; period: number; in_play: boolean; ended: boolean } | null };
  let target: M | undefined;
  await expect
    .poll(async () => {
      const r = await request.get(`${d.url}/api/football/v1/markets?status=open&phase=live&limit=1000`);
      const items = r.ok() ? ((await r.json()) as { items: M[] }).items : [];
      target = items
        .filter((m) => m.prices?.["1x2"]?.home && m.live && m.live.in_play && !m.live.ended && m.live.period <= 2 && m.live.minute < 80)
        .sort((a, b) => b.live!.period * 100 + b.live!.minute - (a.live!.period * 100 + a.live!.minute))[0];
      return target?.fixture;
    }, { timeout: 120_000, message: "a live game with an open match-result market" })
    .toBeTruthy();
  const fixture = target!.fixture;

  await signIn(page);
  const row = page.locator(`.fixture[data-fixture="${fixture}"]`);
  const home = row.locator("button.pick[data-pick='1x2/home']");
  await expect(home).toBeEnabled({ timeout: 60_000 });
  await home.click();
  await page.getByRole("button", { name: /^Coupon/ }).click();
  const panel = page.getByRole("region", { name: "Mon coupon" });
  await expect(panel).toBeVisible();
  await page.getByLabel("Mise (€)").fill("1");
  // A live price moves often: a price changed before the bet is taken is accepted and placed again.
  let result = panel.locator("[data-result]").first();
  for (let attempt = 0; ; attempt++) {
    expect(attempt, "the live price kept changing").toBeLessThan(6);
    await panel.getByRole("button", { name: "Parier" }).click();
    result = panel.locator("[data-result]").first();
    await expect(result).toHaveAttribute("data-result", /^(pending|accepted|rejected|refused)$/, { timeout: 30_000 });
    const code = await result.getAttribute("data-code");
    if (code !== "price_changed" && code !== "market_suspended") break;
    if (code === "price_changed") await result.getByRole("button", { name: "Accepter les nouvelles cotes" }).click();
    else await expect(home).toBeEnabled({ timeout: 60_000 });
  }
  // Taken, then waiting out its acceptance delay: shown as such.
  await expect(result, (await result.textContent()) ?? "").toHaveAttribute("data-result", "pending");
  await expect(result).toHaveAttribute("data-delay", "5000");
  await expect(result).toContainText("Pari en direct enregistré : délai d'acceptation de 5 s en cours.");
  const betId = await result.getAttribute("data-bet");
  expect(betId).toMatch(/^b\d{12}$/);
  await shot(page, "40-live-bet-delay");
  await expect(result).toHaveAttribute("data-result", /^(accepted|rejected)$/, { timeout: 60_000 });
  const decided = (await result.getAttribute("data-result"))!;
  if (decided === "accepted") {
    await expect(result).toContainText(/Pari accepté : mise 1,00\s€, gain potentiel \d+,\d\d\s€\./);
  } else {
    // Refused after the delay (the price moved, a goal, the market suspended): the reason in French.
    await expect(result).toContainText(/Pari refusé : [A-ZÀ-Ý].+\.$/);
    await expect(result).not.toContainText("_");
  }
  await shot(page, `41-live-bet-${decided}`);

  // Mes paris, then no reload until the end: the marker set on this page must survive.
  await page.getByRole("navigation").getByRole("link", { name: "Mes paris" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Mes paris" })).toBeVisible();
  await page.evaluate(() => ((window as unknown as { noReload: boolean }).noReload = true));
  const balance = page.locator(".mybets-balance");
  await expect(balance).toHaveAttribute("data-balance", /^\d+$/, { timeout: 30_000 });
  const before = Number(await balance.getAttribute("data-balance"));
  await accessible(page, "my-bets-live");
  let bet = page.locator(`li.bet[data-bet="${betId}"]`);
  if (decided === "accepted") {
    await expect(page.locator(`[data-bets=open] li.bet[data-bet="${betId}"]`)).toHaveAttribute("data-status", "accepted", { timeout: 30_000 });
    await shot(page, "42-live-bet-open");
    // The game ends (the feed's final result): the bet settles, moved to the settled list by the stream.
    bet = page.locator(`[data-bets=settled] li.bet[data-bet="${betId}"]`);
    await expect(bet).toHaveAttribute("data-status", "settled", { timeout: 12 * 60_000 });
    await expect(bet).toHaveAttribute("data-result", /^(won|lost|void)$/);
    await expect(bet).toContainText(/Réglé : (Gagné|Perdu|Annulé)/);
    await expect(bet.locator("[data-field=return] dd")).toHaveText(/^\d+,\d\d\s€$/);
  } else {
    await expect(page.locator(`[data-bets=settled] li.bet[data-bet="${betId}"]`)).toHaveAttribute("data-status", "rejected", { timeout: 30_000 });
    await expect(page.locator(`li.bet[data-bet="${betId}"] .bet-reason`)).toHaveText(/^Motif : [A-ZÀ-Ý].+\.$/);
  }
  // The balance shown is read again after the change, on the same page: a settled bet takes its
  // stake (lost) or pays it back with more (won), so it moves (a void bet gives the stake back).
  if (decided === "accepted" && (await bet.getAttribute("data-result")) !== "void") {
    await expect(balance).not.toHaveAttribute("data-balance", String(before), { timeout: 60_000 });
    await expect(balance).toContainText(/^Solde : \d+,\d\d\s€/);
  }
  expect(await page.evaluate(() => (window as unknown as { noReload?: boolean }).noReload)).toBe(true);
  await shot(page, "43-live-bet-settled");
  expect(errors).toEqual([]);
});
