// The operator's console in Chromium against the real deployment behind the edge (named to run
// after journey.spec.ts, whose pre-match bets must come before the simulated games kick off). The operator
// is made from the test side with the bootstrap admin token (which never reaches the browser),
// enrols and confirms its TOTP here; the browser then signs in with e-mail, password and a code.
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { resolve } from "node:path";
import { artifacts, deployment } from "./deployment";
import { adminToken, consoleSignIn, makeOperator, post, totp } from "./operator";

const d = deployment();
const shot = (page: Page, name: string) => page.screenshot({ path: resolve(artifacts, `${name}.png`), fullPage: true });

async function accessible(page: Page, name: string) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

test("an operator signs in to the console and sees cluster health, switches, trader controls, liability, the ledger and RTP, the oracle", async ({ page }) => {
  test.setTimeout(240_000); // the per-market line move waits for an agreed quote and the bettor's page
  const admin = adminToken(d);
  const op = await makeOperator(d, "Console test", ["cluster", "bets", "wallet", "oracle", "kyc"]);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${d.url}/console/`);
  await expect(page.getByRole("heading", { level: 1, name: "Console d'exploitation" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 2, name: "Connexion opérateur" })).toBeVisible();
  await accessible(page, "console-signin");
  // A used code is refused, translated from its code.
  await consoleSignIn(page, op, totp(op.secret, op.step));
  await expect(page.getByRole("alert")).toHaveText("Code à usage unique incorrect ou déjà utilisé.");
  await shot(page, "c1-console-signin-refused");
  // The next step's code (the window allows one step ahead) signs in.
  await consoleSignIn(page, op);
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
    // Each node's own readiness through the edge: all three up, no node reported down.
    await expect(card.locator("tbody tr[data-state=up]")).toHaveCount(3, { timeout: 15_000 });
    await expect(card.locator("tbody td.state").first()).toHaveText("en service");
    await expect(card.locator(".nodes-down")).toHaveCount(0);
    // The agreement as the leader tallies it (read from the leader's own node route): no dissent.
    await expect(card.locator("[data-agreement]")).toHaveAttribute("data-agreement", "ok", { timeout: 15_000 });
    await expect(card.locator(".agr-ok")).toHaveText("Aucun désaccord, aucun accord en retard.");
  }
  await shot(page, "c2-console-cluster");
  await accessible(page, "console-cluster");

  // The market board: every fixture with its market's state; betting on one fixture closed
  // and opened again from its row, each change checked on a football node with the admin token.
  await page.getByRole("link", { name: "Tableau des marchés" }).click();
  const rows = page.locator("tr[data-fixture]");
  await expect(rows.first()).toBeVisible({ timeout: 30_000 });
  await expect(page.locator("tr[data-market=open]").first()).toBeVisible({ timeout: 60_000 });
  const row = page.locator("tr[data-market=open][data-betting=open]").first();
  const fixture = (await row.getAttribute("data-fixture"))!;
  const mine = page.locator(`tr[data-fixture="${fixture}"]`);
  await expect(mine.locator(".market-state")).toHaveText("ouverts");
  const closedOnNode = () =>
    fetch(`${d.url}/api/football/admin/v1/bets/switches`, { headers: { Authorization: `Bearer ${admin}` } })
      .then((r) => r.json())
      .then((j: { fixtures_closed?: Record<string, unknown> }) => fixture in (j.fixtures_closed ?? {}));
  await mine.getByRole("button", { name: /^Fermer : / }).click();
  await expect(mine).toHaveAttribute("data-betting", "closed");
  await expect(mine.locator(".betting")).toHaveText("fermés");
  await expect.poll(closedOnNode).toBe(true);
  await shot(page, "c2b-console-board");
  await accessible(page, "console-board");
  await mine.getByRole("button", { name: /^Ouvrir : / }).click();
  await expect(mine).toHaveAttribute("data-betting", "open");
  await expect.poll(closedOnNode).toBe(false);

  // Trader controls: the same fixture suspended with a reason; the console shows the state and
  // the change in the history, and the bettor's board (another tab) shows the fixture
  // suspended, not hidden; a setting out of bounds is refused in words; reopened, the board
  // shows it open again once the next round of prices is agreed.
  await page.getByRole("link", { name: "Contrôles du trader" }).click();
  await page.getByRole("combobox", { name: "Match", exact: true }).selectOption(fixture);
  const trader = page.locator(`[data-trader="${fixture}"]`);
  await expect(trader).toHaveAttribute("data-suspended", "false", { timeout: 30_000 });
  await trader.getByRole("form", { name: "Suspendre le match" }).getByLabel("Motif").fill("information sur une blessure");
  await trader.getByRole("button", { name: "Suspendre le match" }).click();
  await expect(trader).toHaveAttribute("data-suspended", "true", { timeout: 30_000 });
  await expect(trader.locator("td.suspended")).toHaveText("Suspendu par le trader");
  const change = trader.locator("table.trader-history tbody tr").first();
  await expect(change.locator(".what")).toHaveText("suspendu");
  await expect(change.locator(".why")).toHaveText("information sur une blessure");
  const bettor = await page.context().newPage();
  await bettor.goto(`${d.url}/`);
  const onBoard = bettor.locator(`li.fixture[data-fixture="${fixture}"]`);
  await expect(onBoard).toHaveAttribute("data-status", "suspended", { timeout: 30_000 });
  await expect(onBoard.locator("[data-status=suspended]")).toHaveText("Suspendu");
  await shot(bettor, "c2c-board-suspended-by-trader");
  await shot(page, "c2d-console-trader");
  await accessible(page, "console-trader");
  const settings = trader.getByRole("form", { name: "Réglages de cotation" });
  await settings.getByLabel("Décalage de marge (pb, -500 à 1500)").fill("2000");
  await settings.getByLabel("Motif").fill("essai hors bornes");
  await settings.getByRole("button", { name: "Appliquer les réglages" }).click();
  await expect(page.getByRole("alert")).toHaveText("Décalage de marge hors bornes (de -500 à 1500 pb).");
  await trader.getByRole("form", { name: "Rouvrir le match" }).getByLabel("Motif").fill("blessure sans gravité");
  await trader.getByRole("button", { name: "Rouvrir le match" }).click();
  await expect(trader).toHaveAttribute("data-suspended", "false", { timeout: 30_000 });
  await expect(trader.locator("table.trader-history tbody tr").first().locator(".what")).toHaveText("rouvert");
  await expect(onBoard).toHaveAttribute("data-status", "open", { timeout: 60_000 });

  // Per market: the total goals line moved up a goal with a reason; the console lists it in the
  // market's table and its own history; the next agreed quote carries the move and the bettor's
  // fixture page shows its prices (3.5 at the model's 2.5, no 0.5 line any more). A lean over
  // 500 bp is refused in words and changes nothing; the line is put back at the end.
  const markets = trader.getByRole("form", { name: "Changer un marché" });
  const before = await fetch(`${d.url}/api/football/v1/fixtures/${fixture}/markets`).then((r) => r.json()) as { version: number };
  await markets.getByRole("combobox", { name: "Marché à régler" }).selectOption("total_goals");
  await markets.getByLabel(/^Déplacement de ligne/).fill("1");
  await markets.getByLabel("Motif").fill("forte pluie annoncée");
  await markets.getByRole("button", { name: "Appliquer au marché" }).click();
  await expect(trader.getByRole("status")).toHaveText(/^Réglage du marché total_goals enregistré \(changement n° \d+\)\.$/, { timeout: 30_000 });
  const tgRow = trader.locator('table.trader-markets-state tr[data-market="total_goals"]');
  await expect(tgRow.locator(".line")).toHaveText("+1 but(s)");
  await expect(tgRow.locator(".state")).toHaveText("ouvert");
  const tgHistory = trader.locator('[data-market-history="total_goals"] tbody tr');
  await expect(tgHistory).toHaveCount(1);
  await expect(tgHistory.first().locator(".what")).toHaveText("ligne +1");
  await expect(tgHistory.first().locator(".why")).toHaveText("forte pluie annoncée");
  await shot(page, "c2e-console-trader-market");
  await accessible(page, "console-trader-market");
  // The bettor's side: a newer agreed quote whose inputs carry the move, and the fixture page
  // showing that quote's 3.5 over price (read again until the page and the API show the same).
  type Quote = { version: number; prices: { total_goals?: Record<string, { over?: number; under?: number }> } };
  const agreedWithMove = async (): Promise<Quote | undefined> => {
    const m = await fetch(`${d.url}/api/football/v1/fixtures/${fixture}/markets`).then((r) => r.json()) as Quote;
    if (m.version <= before.version) return undefined;
    const q = await fetch(`${d.url}/api/football/v1/quotes/${m.version}`).then((r) => r.json()) as
      { inputs?: { trader?: { markets?: { total_goals?: { line_move_q?: number } } } } };
    return q.inputs?.trader?.markets?.total_goals?.line_move_q === 4 ? m : undefined;
  };
  await expect.poll(async () => (await agreedWithMove()) !== undefined, { timeout: 60_000 }).toBe(true);
  await bettor.goto(`${d.url}/match/${encodeURIComponent(fixture)}`);
  const totals = bettor.locator("table[data-market='total_goals']");
  await expect(totals).toBeVisible({ timeout: 30_000 });
  await expect(async () => {
    const m = await agreedWithMove();
    expect(m, "the newest agreed quote carries the move").toBeDefined();
    const over = m!.prices.total_goals?.["3.5"]?.over;
    expect(over, "3.5 over is priced").toBeGreaterThan(1000);
    const text = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false }).format(over! / 1000);
    await expect(totals.locator("[data-pick='total_goals/3.5/over'] .value")).toHaveText(text, { timeout: 2_000 });
    expect(m!.prices.total_goals?.["0.5"], "0.5 falls off the ladder").toBeUndefined();
  }).toPass({ timeout: 60_000 });
  await expect(totals.locator("[data-pick^='total_goals/0.5/']")).toHaveCount(0);
  await shot(bettor, "c2f-fixture-line-moved");
  // Refused: a lean over 500 bp, in words, and nothing changes.
  type Settings = { markets: { changes: number; markets: Record<string, { lean: unknown; line_move_q: number }> } };
  const onNode = () => fetch(`${d.url}/api/football/admin/v1/fixtures/${fixture}/trader`, { headers: { Authorization: `Bearer ${admin}` } })
    .then((r) => r.json()) as Promise<Settings>;
  const changesBefore = await tgHistory.count();
  const nodeBefore = await onNode();
  await markets.getByLabel("Penchant vers").selectOption("over");
  await markets.getByLabel(/^Penchant \(pb/).fill("600");
  await markets.getByLabel("Motif").fill("essai hors bornes");
  await markets.getByRole("button", { name: "Appliquer au marché" }).click();
  await expect(trader.getByRole("alert")).toHaveText("Penchant hors bornes (de 0 à 500 pb, vers une issue du marché : domicile, nul ou extérieur sur le 1N2).");
  await expect(tgRow.locator(".lean")).toHaveText("aucun");
  await expect(tgHistory).toHaveCount(changesBefore);
  const nodeAfter = await onNode();
  expect(nodeAfter.markets.markets.total_goals).toMatchObject({ lean: null, line_move_q: 4 });
  expect(nodeAfter.markets.changes).toBe(nodeBefore.markets.changes);
  // The line put back (the other spec files see the model's ladder again).
  await markets.getByLabel(/^Penchant \(pb/).fill("0");
  await markets.getByLabel(/^Déplacement de ligne/).fill("0");
  await markets.getByLabel("Motif").fill("fin de l'essai");
  await markets.getByRole("button", { name: "Appliquer au marché" }).click();
  await expect(tgRow.locator(".line")).toHaveText("0 but(s)", { timeout: 30_000 });
  await expect(tgHistory.first().locator(".what")).toHaveText("ligne 0");
  await expect(trader.getByRole("alert")).toHaveCount(0);
  await bettor.close();

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

  // The KYC review queue: a player put under manual review (from the test side with the admin
  // token) is found in the queue and verified by the operator with a reason, kept in the
  // player's history; the player leaves the queue.
  const reg = await post(d, "/api/accounts/v1/players", { email: `kyc-${Date.now()}@example.fr`, password: "un secret assez long" });
  expect(reg.status, JSON.stringify(reg.json)).toBe(201);
  const pid: string = reg.json.id;
  const review = await post(d, `/api/accounts/admin/v1/players/${pid}/kyc`, { status: "manual_review", reason: "photo floue" }, admin);
  expect(review.status, JSON.stringify(review.json)).toBe(200);
  await page.getByRole("link", { name: "Vérifications d'identité" }).click();
  const queued = page.locator(`li[data-player="${pid}"]`);
  await expect(async () => {
    // The queue was read when the page opened; a node behind may not have the review yet.
    if (!(await queued.isVisible())) await page.getByLabel("Statut").selectOption("pending").then(() => page.getByLabel("Statut").selectOption("manual_review"));
    await expect(queued).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await expect(queued.locator(".kyc-last")).toContainText("manual_review (photo floue)");
  await shot(page, "c4b-console-kyc");
  await accessible(page, "console-kyc");
  await queued.locator("select[name=decision]").selectOption("verified");
  await queued.getByLabel("Motif").fill("pièce d'identité lisible, visage conforme");
  await queued.getByRole("button", { name: "Enregistrer la décision" }).click();
  await expect(page.locator(".kyc-done")).toHaveText(`Décision enregistrée pour ${pid} : vérifiée.`);
  await expect(page.locator(`li[data-player="${pid}"]`)).toHaveCount(0, { timeout: 30_000 });
  await expect.poll(async () => {
    const r = await fetch(`${d.url}/api/accounts/admin/v1/players/${pid}`, { headers: { Authorization: `Bearer ${admin}` } });
    const j = (await r.json()) as { kyc_status?: string; kyc_history?: { detail?: string }[] };
    return `${j.kyc_status} ${j.kyc_history?.at(-1)?.detail}`;
  }).toBe("verified pièce d'identité lisible, visage conforme");

  // The ledger check.
  await page.getByRole("link", { name: "Grand livre et TRJ" }).click();
  await expect(page.locator(".ledger-check")).toHaveAttribute("data-ok", "true");
  await expect(page.locator(".ledger-check")).toHaveText("Grand livre cohérent");
  // The return-to-player meter as a table for this year, with the 85 % cap and its verdict.
  const trj = page.locator(`table.console-trj[data-trj="${new Date().getUTCFullYear()}"]`);
  await expect(trj.locator(".cap")).toHaveText(/^85\s?%$/);
  await expect(trj.locator(".stakes")).toHaveText(/^\d[\d\s]*,\d\d\s€$/);
  await expect(page.locator(".trj-verdict")).toHaveText(/^(Sous le plafond de 85\s?%|Au-dessus du plafond de 85\s?% !|Aucune mise cette année\.)$/);
  await shot(page, "c5-console-ledger");
  await accessible(page, "console-ledger");

  // The oracle page answers (its content depends on the chain being configured).
  await page.getByRole("link", { name: "Oracle" }).click();
  await expect(page.getByRole("heading", { level: 3, name: "Soumissions de résultats à la chaîne" })).toBeVisible();
  // Tables and figures, never raw JSON: the results per state when the chain is configured, or
  // the sentence saying it is not.
  await expect(page.locator("table.oracle-counts, .oracle-off")).toBeVisible({ timeout: 15_000 });
  await expect(page.locator("pre")).toHaveCount(0);
  await accessible(page, "console-oracle");
  await shot(page, "c6-console-oracle");
  expect(errors).toEqual([]);
});
