// Where the test deployment is (written by global-setup.ts, read by the tests and the teardown).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const top = resolve(__dirname, "../..");
export const artifacts = resolve(top, "build/web-artifacts");
export const stateFile = resolve(artifacts, "deployment.json");

export interface Deployment {
  url: string; // the edge, e.g. https://127.0.0.1:20080
  scheme: "http" | "https"; // the edge's and the nodes' (https: member TLS, tests/web/run.sh's CA)
  runDir: string;
  shift: number;
  pid: number; // cluster-config/local/run.sh (its own process group)
  fcPid?: number; // the FranceConnect stand-in (kyc/standin/fc-standin.mjs), when it started
}

export function deployment(): Deployment {
  return JSON.parse(readFileSync(stateFile, "utf8")) as Deployment;
}

export function nodeUrl(d: Deployment, cluster: "football" | "accounts", i: number): string {
  const base = cluster === "football" ? 8100 : 8200;
  return `${d.scheme ?? "http"}://127.0.0.1:${base + i + d.shift}`;
}
