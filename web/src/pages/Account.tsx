// Registration and sign-in: one form (email, password, and each page's extra field).
import { useState, type FormEvent, type ReactNode } from "react";
import { ApiError } from "../api";
import { register, signIn } from "../auth";
import { ProblemAlert } from "../components";
import { useI18n, type MessageKey } from "../i18n";
import type { Problem } from "../problems";
import { navigate, onLink } from "../router";

function AccountForm(props: {
  id: string;
  title: MessageKey;
  submit: MessageKey;
  intro?: ReactNode;
  extra: ReactNode;
  autocomplete: "new-password" | "current-password";
  send: (email: string, password: string, form: FormData) => Promise<ReactNode | void>;
}) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | undefined>();
  const [done, setDone] = useState<ReactNode>();
  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setProblem(undefined);
    setDone(undefined);
    try {
      setDone((await props.send(String(form.get("email")), String(form.get("password")), form)) ?? undefined);
    } catch (err) {
      setProblem(err instanceof ApiError ? err.problem : { status: 0, code: "client.network" });
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby={`${props.id}-title`} className="account">
      <h1 id={`${props.id}-title`}>{t(props.title)}</h1>
      {props.intro}
      <ProblemAlert problem={problem} />
      {done && <div className="notice" role="status">{done}</div>}
      <form id={props.id} onSubmit={onSubmit}>
        <label htmlFor={`${props.id}-email`}>{t("form.email")}</label>
        <input id={`${props.id}-email`} name="email" type="email" autoComplete="email" required />
        <label htmlFor={`${props.id}-password`}>{t("form.password")}</label>
        <input
          id={`${props.id}-password`}
          name="password"
          type="password"
          autoComplete={props.autocomplete}
          required
          minLength={props.autocomplete === "new-password" ? 8 : undefined}
          maxLength={128}
          aria-describedby={props.autocomplete === "new-password" ? `${props.id}-password-hint` : undefined}
        />
        {props.autocomplete === "new-password" && (
          <p className="hint" id={`${props.id}-password-hint`}>{t("form.password.hint")}</p>
        )}
        {props.extra}
        <button type="submit" disabled={busy}>{busy ? t("form.busy") : t(props.submit)}</button>
      </form>
    </section>
  );
}

export function Register() {
  const { t } = useI18n();
  return (
    <AccountForm
      id="register"
      title="register.title"
      submit="register.submit"
      autocomplete="new-password"
      intro={<p>{t("register.intro")}</p>}
      extra={
        <p className="check">
          <input id="register-adult" name="adult" type="checkbox" required />
          <label htmlFor="register-adult">{t("form.adult")}</label>
        </p>
      }
      send={async (email, password) => {
        const r = await register(email, password);
        return (
          <>
            {t("register.done", { email: r.email })}{" "}
            <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
          </>
        );
      }}
    />
  );
}

export function SignIn() {
  const { t } = useI18n();
  return (
    <AccountForm
      id="signin"
      title="signin.title"
      submit="signin.submit"
      autocomplete="current-password"
      extra={
        <>
          <label htmlFor="signin-totp">{t("signin.totp")}</label>
          <input id="signin-totp" name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" />
        </>
      }
      send={async (email, password, form) => {
        const totp = String(form.get("totp") ?? "").trim();
        await signIn(email, password, totp || undefined);
        navigate("/");
      }}
    />
  );
}
