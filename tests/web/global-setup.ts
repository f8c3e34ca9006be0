// Starts the local deployment with cluster-config/local/run.sh on ports shifted into a free
// range (below the kernel's ephemeral ports), with its data under build/web-deploy, and waits
// until the edge serves agreed prices. The FranceConnect stand-in (kyc/standin/fc-standin.mjs,
// oidc-provider from tests/npm) runs beside it: the accounts nodes use it as their provider and
// it sends the browser back to the site's return page, /identite/franceconnect.
import { spawn } from "node:child_process";
import { copyFileSync, chmodSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { artifacts, stateFile, top, type Deployment } from "./deployment";

async function openMarkets(url: string): Promise<number> {
  try {
    const r = await fetch(`${url}/api/football/v1/markets?status=open&limit=1000`);
    if (!r.ok) return 0;
    return ((await r.json()) as { items: unknown[] }).items.length;
  } catch {
    return 0;
  }
}

// Starts the stand-in on a free port; resolves with its issuer URL once it prints READY.
function startFranceConnect(redirect: string, log: number): Promise<{ issuer: string; pid: number } | undefined> {
  const child = spawn("node", ["kyc/standin/fc-standin.mjs", "--port", "0", "--redirect", redirect], {
    cwd: top,
    detached: true,
    stdio: ["ignore", "pipe", log],
  });
  return new Promise((resolve) => {
    let out = "";
    const timer = setTimeout(() => resolve(undefined), 60_000);
    child.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        child.unref();
        resolve({ issuer: m[1], pid: child.pid! });
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

async function start(shift: number): Promise<Deployment | undefined> {
  const runDir = resolve(top, "build/web-deploy");
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const log = openSync(resolve(artifacts, "deployment.log"), "a");
  // HTTPS everywhere when tests/web/run.sh made the test CA (PARLAY_WEB_CA_DIR) and told this
  // process to trust it (NODE_EXTRA_CA_CERTS): run.sh issues the nodes' and the edge's
  // certificates from it. Without it, the deployment runs on plain HTTP (PARLAY_TLS=0).
  const caDir = process.env.PARLAY_WEB_CA_DIR;
  const scheme: "http" | "https" = caDir && process.env.NODE_EXTRA_CA_CERTS ? "https" : "http";
  if (scheme === "https") {
    mkdirSync(resolve(runDir, "certs"), { recursive: true, mode: 0o700 });
    for (const f of ["ca.pem", "ca.key"]) copyFileSync(resolve(caDir!, f), resolve(runDir, "certs", f));
    chmodSync(resolve(runDir, "certs", "ca.key"), 0o600);
  }
  const url = `${scheme}://127.0.0.1:${8080 + shift}`;
  const fc = await startFranceConnect(`${url}/identite/franceconnect`, log);
  const fcEnv = fc
    ? { PARLAY_FRANCECONNECT_ISSUER: fc.issuer, PARLAY_FRANCECONNECT_REDIRECT: `${url}/identite/franceconnect`, PARLAY_FRANCECONNECT_SECRET: "parlay-test-secret" }
    : {};
  const child = spawn("bash", ["cluster-config/local/run.sh"], {
    cwd: top,
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, PARLAY_RUN_DIR: runDir, PARLAY_PORT_SHIFT: String(shift), PARLAY_CHAIN: "0", PARLAY_TLS: scheme === "https" ? "1" : "0", ...fcEnv },
  });
  let exited = false;
  child.on("exit", () => (exited = true));
  const d: Deployment = { url, scheme, runDir, shift, pid: child.pid!, fcPid: fc?.pid };
  writeFileSync(stateFile, JSON.stringify(d));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !exited) {
    if ((await openMarkets(d.url)) >= 3) {
      child.unref();
      return d;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!exited) process.kill(-child.pid!, "SIGTERM");
  if (fc) process.kill(fc.pid, "SIGTERM");
  return undefined;
}

export default async function globalSetup() {
  mkdirSync(artifacts, { recursive: true });
  rmSync(resolve(artifacts, "deployment.log"), { force: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    // Ports 7101+shift .. 8313+shift stay under 32768 (the ephemeral range starts there).
    const shift = 10000 + 100 * Math.floor(Math.random() * 140);
    const d = await start(shift);
    if (d) return;
  }
  throw new Error(`the test deployment did not start; see ${resolve(artifacts, "deployment.log")}`);
}
