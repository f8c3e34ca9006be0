// "Vérifier mon identité": FranceConnect (the button as FranceConnect asks relying parties to show
// it, French wording), and the return page the provider sends the browser back to. Loaded on
// demand. The session is in memory only: coming back from the provider, the player signs in
// again (the callback itself needs no session: its state names the player).
import { useEffect, useRef, useState } from "react";
import { ApiError } from "../api";
import { useSession } from "../auth";
import { ProblemAlert } from "../components";
import { useI18n } from "../i18n";
import { finishFranceConnect, startDocumentCheck, startFranceConnect } from "../kyc";
import type { Problem } from "../problems";
import { onLink } from "../router";
import { getWallet } from "../wallet";

const asProblem = (e: unknown): Problem => (e instanceof ApiError ? e.problem : { status: 0, code: "client.network" });

export function FranceConnectButton({ onClick, busy }: { onClick: () => void; busy: boolean }) {
  const { t } = useI18n();
  return (
    <div className="fc">
      <button type="button" className="fc-button" onClick={onClick} disabled={busy} lang="fr">
        <span className="fc-with">S’identifier avec</span> <span className="fc-name">FranceConnect</span>
      </button>
      <p>
        <a href="https://franceconnect.gouv.fr/" target="_blank" rel="noopener noreferrer" lang="fr">
          Qu’est-ce que FranceConnect ?<span className="sr-only"> {t("identity.new_window")}</span>
        </a>
      </p>
    </div>
  );
}

export function IdentityPage() {
  const { t } = useI18n();
  const session = useSession();
  const [verified, setVerified] = useState<boolean>();
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!session) return;
    let live = true;
    getWallet(session.accessToken)
      .then((w) => live && setVerified(w.verified))
      .catch((e) => live && setProblem(asProblem(e)));
    return () => {
      live = false;
    };
  }, [session?.accessToken]);
  // Either way the browser goes to the provider's page (FranceConnect's authorize URL or the
  // document-check provider's hosted session).
  async function start(how: "fc" | "document") {
    if (!session) return;
    setBusy(true);
    setProblem(undefined);
    try {
      const url = how === "fc" ? (await startFranceConnect(session.accessToken)).authorize_url : (await startDocumentCheck(session.accessToken)).url;
      window.location.assign(url);
    } catch (e) {
      setProblem(asProblem(e));
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="identity-title" className="identity">
      <h1 id="identity-title">{t("identity.title")}</h1>
      {!session ? (
        <p>
          {t("identity.signin")} <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
        </p>
      ) : (
        <>
          <ProblemAlert problem={problem} />
          {verified === true && <p className="notice" data-verified="true">{t("identity.verified")}</p>}
          {verified === false && (
            <>
              <p>{t("identity.intro")}</p>
              <FranceConnectButton onClick={() => void start("fc")} busy={busy} />
              <p>{t("identity.document.intro")}</p>
              <button type="button" className="document-check" onClick={() => void start("document")} disabled={busy}>{t("identity.document")}</button>
            </>
          )}
        </>
      )}
    </section>
  );
}

// The provider's return: code and state (or error) in the query string, handed to the cluster once.
export function FranceConnectReturn() {
  const { t } = useI18n();
  const [state, setState] = useState<"checking" | "verified" | "refused">("checking");
  const [problem, setProblem] = useState<Problem>();
  const once = useRef(false);
  useEffect(() => {
    if (once.current) return;
    once.current = true;
    const q = new URLSearchParams(window.location.search);
    if (q.get("error")) {
      setState("refused");
      setProblem({ status: 403, title: "Access denied" });
      return;
    }
    finishFranceConnect(window.location.search)
      .then(() => setState("verified"))
      .catch((e) => {
        setState("refused");
        setProblem(asProblem(e));
      });
  }, []);
  const key =
    problem?.status === 403 ? "identity.refused.minor" : problem?.status === 409 ? "identity.refused.taken" : problem?.status === 401 ? "identity.refused.invalid" : undefined;
  return (
    <section aria-labelledby="identity-title" className="identity" data-state={state}>
      <h1 id="identity-title">{t("identity.title")}</h1>
      {state === "checking" && <p role="status">{t("identity.checking")}</p>}
      {state === "verified" && (
        <p className="notice" role="status" data-verified="true">
          {t("identity.done")} <a href="/connexion" onClick={onLink}>{t("nav.signin")}</a>
        </p>
      )}
      {state === "refused" &&
        (key ? (
          <p className="alert" role="alert">{t(key)}</p>
        ) : (
          <ProblemAlert problem={problem} />
        ))}
    </section>
  );
}

export default IdentityPage;
