// Starts the local deployment with cluster-config/local/run.sh on ports shifted into a free
// range (below the kernel's ephemeral ports), with its data under build/web-deploy, and waits
// until the edge serves agreed prices.
import { spawn } from "node:child_process";
import { mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
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

async function start(shift: number): Promise<Deployment | undefined> {
  const runDir = resolve(top, "build/web-deploy");
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const log = openSync(resolve(artifacts, "deployment.log"), "a");
  const child = spawn("bash", ["cluster-config/local/run.sh"], {
    cwd: top,
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, PARLAY_RUN_DIR: runDir, PARLAY_PORT_SHIFT: String(shift), PARLAY_CHAIN: "0" },
  });
  let exited = false;
  child.on("exit", () => (exited = true));
  const d: Deployment = { url: `http://127.0.0.1:${8080 + shift}`, runDir, shift, pid: child.pid! };
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
