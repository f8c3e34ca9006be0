// "Mot de passe": the signed-in player changes their password (the current one, the new one
// twice, and the one-time or recovery code when two-step sign-in is on). The cluster keeps
// this session and closes the others; a refusal is said in the player's language.
import { useState, type FormEvent } from "react";
import { ApiError } from "../api";
import { changePassword, useSession } from "../auth";
import { ProblemAlert } from "../components";
import { useI18n } from "../i18n";
import type { Problem } from "../problems";
import { onLink } from "../router";

export function PasswordPage() {
  const { t } = useI18n();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [mismatch, setMismatch] = useState(false);
  const [revoked, setRevoked] = useState<number>();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (!session) return;
    const form = e.currentTarget;
    const data = new FormData(form);
    const next = String(data.get("new"));
    setProblem(undefined);
    setRevoked(undefined);
    setMismatch(next !== String(data.get("confirm")));
    if (next !== String(data.get("confirm"))) return;
    setBusy(true);
    try {
      const code = String(data.get("code") ?? "").trim();
      const r = await changePassword(session.accessToken, String(data.get("current")), next, code || undefined);
      setRevoked(r.sessions_revoked);
      form.reset();
    } catch (err) {
      setProblem(err instanceof ApiError ? err.problem : { status: 0, code: "client.network" });
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="password-title" className="account">
      <h1 id="password-title">{t("password.title")}</h1>
      {!session ? (
        <p>
          {t("password.signin")} <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
        </p>
      ) : (
        <>
          <p>{t("password.intro")}</p>
          <ProblemAlert problem={problem} />
          {mismatch && <div className="alert" role="alert">{t("password.mismatch")}</div>}
          {revoked !== undefined && <div className="notice" role="status">{t("password.done", { count: revoked })}</div>}
          <form id="password" onSubmit={onSubmit}>
            <label htmlFor="password-current">{t("password.current")}</label>
            <input id="password-current" name="current" type="password" autoComplete="current-password" required maxLength={128} />
            <label htmlFor="password-new">{t("password.new")}</label>
            <input id="password-new" name="new" type="password" autoComplete="new-password" required minLength={8} maxLength={128} aria-describedby="password-new-hint" />
            <p className="hint" id="password-new-hint">{t("form.password.hint")}</p>
            <label htmlFor="password-confirm">{t("password.confirm")}</label>
            <input id="password-confirm" name="confirm" type="password" autoComplete="new-password" required minLength={8} maxLength={128} />
            <label htmlFor="password-code">{t("password.code")}</label>
            <input id="password-code" name="code" autoComplete="one-time-code" maxLength={29} />
            <button type="submit" disabled={busy}>{busy ? t("form.busy") : t("password.submit")}</button>
          </form>
        </>
      )}
    </section>
  );
}
