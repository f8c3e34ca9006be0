import { Suspense, lazy, useEffect, useRef } from "react";
import { signOut, useSession } from "./auth";
import { LANGS, useI18n, type Lang } from "./i18n";
import { Register, SignIn } from "./pages/Account";
import { Board } from "./pages/Board";
import { FixturePage } from "./pages/Fixture";
import { onLink, usePath } from "./router";
import { Slip } from "./BetSlip";
import { RealityBar } from "./Reality";
import { slip } from "./slip";

// The money pages are loaded when first opened: they stay out of the first page's JavaScript.
const WalletPage = lazy(() => import("./pages/Wallet").then((m) => ({ default: m.WalletPage })));
const LimitsPage = lazy(() => import("./pages/Wallet").then((m) => ({ default: m.LimitsPage })));
const MyBetsPage = lazy(() => import("./pages/MyBets").then((m) => ({ default: m.MyBetsPage })));
const IdentityPage = lazy(() => import("./pages/Identity").then((m) => ({ default: m.IdentityPage })));
const PasswordPage = lazy(() => import("./pages/AccountPassword").then((m) => ({ default: m.PasswordPage })));
const FranceConnectReturn = lazy(() => import("./pages/Identity").then((m) => ({ default: m.FranceConnectReturn })));

function Page({ path }: { path: string }) {
  const match = /^\/match\/([^/]+)$/.exec(path);
  if (match) return <FixturePage id={decodeURIComponent(match[1])} />;
  if (path === "/inscription") return <Register />;
  if (path === "/connexion") return <SignIn />;
  if (path === "/portefeuille") return <WalletPage />;
  if (path === "/limites") return <LimitsPage />;
  if (path === "/mes-paris") return <MyBetsPage />;
  if (path === "/identite") return <IdentityPage />;
  if (path === "/mot-de-passe") return <PasswordPage />;
  if (path === "/identite/franceconnect") return <FranceConnectReturn />;
  return <Board />;
}

export function App() {
  const { t, lang, setLang } = useI18n();
  const path = usePath();
  const session = useSession();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  // After an in-page navigation, focus moves to the new page's content (as a page load would).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
    // The slip's panel covers the page on a phone: another page starts with it closed.
    slip.setOpen(false);
  }, [path]);
  return (
    <>
      <a className="skip" href="#main">{t("site.skip")}</a>
      <header className="top">
        <a href="/" onClick={onLink} className="brand">{t("site.name")}</a>
        <nav aria-label={t("nav.main")}>
          <ul>
            <li><a href="/" onClick={onLink} aria-current={path === "/" ? "page" : undefined}>{t("nav.board")}</a></li>
            {!session && (
              <>
                <li><a href="/inscription" onClick={onLink} aria-current={path === "/inscription" ? "page" : undefined}>{t("nav.register")}</a></li>
                <li><a href="/connexion" onClick={onLink} aria-current={path === "/connexion" ? "page" : undefined}>{t("nav.signin")}</a></li>
              </>
            )}
            {session && (
              <>
                <li><a href="/mes-paris" onClick={onLink} aria-current={path === "/mes-paris" ? "page" : undefined}>{t("nav.bets")}</a></li>
                <li><a href="/portefeuille" onClick={onLink} aria-current={path === "/portefeuille" ? "page" : undefined}>{t("nav.wallet")}</a></li>
                <li><a href="/limites" onClick={onLink} aria-current={path === "/limites" ? "page" : undefined}>{t("nav.limits")}</a></li>
                <li><a href="/mot-de-passe" onClick={onLink} aria-current={path === "/mot-de-passe" ? "page" : undefined}>{t("nav.password")}</a></li>
                <li className="who" data-signed-in={session.email}>{t("nav.signedin", { email: session.email })}</li>
                <li><button type="button" className="link" onClick={() => void signOut()}>{t("nav.signout")}</button></li>
              </>
            )}
          </ul>
        </nav>
        <label className="lang">
          <span>{t("lang.label")}</span>{" "}
          <select value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
            {LANGS.map((l) => (
              <option key={l} value={l} lang={l}>{t(`lang.${l}`)}</option>
            ))}
          </select>
        </label>
      </header>
      {session && <RealityBar session={session} path={path} />}
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<p role="status">{t("wallet.loading")}</p>}>
          <Page path={path} />
        </Suspense>
      </main>
      <Slip />
      <footer className="bottom">
        <p><strong className="adult" aria-hidden="true">18+</strong> {t("footer.adult")}</p>
        <p className="regulator">{t("footer.regulator")}</p>
        <p><a href="/console/">{t("footer.console")}</a></p>
      </footer>
    </>
  );
}
