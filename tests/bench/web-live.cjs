// Measures the site in Chromium (Debian's, headless, driven by Playwright) against a running
// deployment: the time from opening the site to the first live prices on the board, and the
// live board's frames while its markets update (requestAnimationFrame timestamps counted in the
// page; a frame is dropped when the gap between two callbacks spans more than one 60 Hz
// interval), watching and scrolling. Prints one JSON object. No thresholds: numbers only.
//
//   NODE_PATH=web/node_modules node tests/bench/web-live.cjs URL [RUNS] [SECONDS]     (see web-live.sh)
const { chromium } = require("playwright-core");

(async () => {
const [url, runsArg = "5", secondsArg = "10"] = process.argv.slice(2);
const runs = Number(runsArg), seconds = Number(secondsArg);
const browser = await chromium.launch({ executablePath: process.env.PARLAY_CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = { url, runs, first_live_prices_ms: [], board: {} };

// Time to first live prices: a new browser context each run (nothing cached).
const LIVE_PRICE = ".fixture:has(.live) button.pick";
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 412, height: 915 } });
  const page = await ctx.newPage();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector(LIVE_PRICE, { timeout: 120_000 });
  out.first_live_prices_ms.push(Math.round(await page.evaluate(() => performance.now())));
  await ctx.close();
}
out.first_live_prices_median_ms = median(out.first_live_prices_ms);

// The live board: every fixture row, how many are live with prices, then frames while watching
// and while scrolling through the board, and the price changes rendered meanwhile.
const ctx = await browser.newContext({ viewport: { width: 412, height: 915 } });
const page = await ctx.newPage();
await page.goto(url);
await page.waitForSelector(LIVE_PRICE, { timeout: 120_000 });
await page.waitForTimeout(3000); // the snapshot merged and the stream running
out.board.rows = await page.locator(".fixture").count();
out.board.live_rows_with_prices = await page.locator(LIVE_PRICE.replace(" button.pick", ":has(button.pick)")).count();
const measure = (scroll, ms) =>
  page.evaluate(
    ({ scroll, ms }) =>
      new Promise((resolve) => {
        let changes = 0;
        const obs = new MutationObserver((recs) => {
          for (const r of recs) if (r.type === "characterData" || r.type === "childList" || r.attributeName === "data-price") changes++;
        });
        obs.observe(document.querySelector("main") ?? document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["data-price"] });
        const times = [];
        const t0 = performance.now();
        const frame = (t) => {
          times.push(t);
          if (scroll) {
            const max = document.documentElement.scrollHeight - innerHeight;
            window.scrollTo(0, (window.scrollY + 40) % Math.max(1, max));
          }
          if (t - t0 < ms) requestAnimationFrame(frame);
          else {
            obs.disconnect();
            const period = 1000 / 60;
            let dropped = 0, worst = 0, long = 0;
            for (let i = 1; i < times.length; i++) {
              const gap = times[i] - times[i - 1];
              worst = Math.max(worst, gap);
              const missed = Math.round(gap / period) - 1;
              if (missed > 0) dropped += missed;
              if (gap > 50) long++;
            }
            const expected = Math.round((times[times.length - 1] - times[0]) / period);
            resolve({ frames: times.length - 1, expected_60hz: expected, dropped, dropped_pct: Math.round((1000 * dropped) / Math.max(1, expected)) / 10, gaps_over_50ms: long, worst_gap_ms: Math.round(worst), dom_price_changes: changes });
          }
        };
        requestAnimationFrame(frame);
      }),
    { scroll, ms },
  );
out.board.watching = await measure(false, seconds * 1000);
out.board.scrolling = await measure(true, seconds * 1000);
const cdp = await ctx.newCDPSession(page);
await cdp.send("Performance.enable");
const m = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((x) => [x.name, x.value]));
out.board.js_heap_mb = Math.round(m.JSHeapUsedSize / 1e5) / 10;
out.board.dom_nodes = m.Nodes;
await browser.close();
console.log(JSON.stringify(out, null, 1));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
