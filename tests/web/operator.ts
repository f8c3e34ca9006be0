// An operator for the console tests, made from the test side with the bootstrap admin token
// (which never reaches the browser): created, its TOTP enrolled and confirmed with the code of
// the current 30-second step; the browser then signs in with the next step's code.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, type Page } from "@playwright/test";
import type { Deployment } from "./deployment";

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
export function totp(secret: string, step: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = createHmac("sha1", base32(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).toString();
  return n.padStart(6, "0");
}

export async function post(d: Deployment, path: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "Content-Type": "application/json", "Idempotency-Key": randomUUID() };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${d.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

export const adminToken = (d: Deployment) => readFileSync(resolve(d.runDir, "admin.token"), "utf8").trim();

export interface Operator { email: string; password: string; secret: string; step: number }

// Creates an operator with @scopes and confirms its TOTP with the current step's code
// (@step: that step, whose code is now used up).
export async function makeOperator(d: Deployment, name: string, scopes: string[]): Promise<Operator> {
  const email = `ops-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.fr`;
  const password = "Une-phrase-de-passe-solide-42";
  const made = await post(d, "/api/accounts/admin/v1/operators", { name, email, password, scopes }, adminToken(d));
  expect(made.status, JSON.stringify(made.json)).toBe(201);
  const enrol = await post(d, "/api/accounts/v1/operators/totp", { email, password });
  expect(enrol.status, JSON.stringify(enrol.json)).toBe(201);
  const secret: string = enrol.json.secret;
  const step = Math.floor(Date.now() / 30_000);
  const conf = await post(d, "/api/accounts/v1/operators/totp/confirm", { email, password, code: totp(secret, step) });
  expect(conf.status, JSON.stringify(conf.json)).toBeLessThan(300);
  return { email, password, secret, step };
}

// Fills the console's sign-in form with @code (default: the step after the confirmed one,
// which the server's window accepts).
export async function consoleSignIn(page: Page, op: Operator, code = totp(op.secret, op.step + 1)) {
  await page.getByLabel("Adresse e-mail").fill(op.email);
  await page.getByLabel("Mot de passe").fill(op.password);
  await page.getByLabel("Code à usage unique (TOTP)").fill(code);
  await page.getByRole("button", { name: "Se connecter" }).click();
}
