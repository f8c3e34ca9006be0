// The message catalogue: French first, English available. Every text the site shows is here,
// keyed by a stable name; `t(key, vars)` fills {name} placeholders.
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

export type Lang = "fr" | "en";
export const LANGS: Lang[] = ["fr", "en"];

const fr = {
  "site.name": "Parlay",
  "site.skip": "Aller au contenu",
  "nav.main": "Navigation principale",
  "nav.board": "Matchs en direct",
  "nav.register": "Créer un compte",
  "nav.signin": "Se connecter",
  "nav.signout": "Se déconnecter",
  "nav.signedin": "Connecté : {email}",
  "lang.label": "Langue",
  "lang.fr": "Français",
  "lang.en": "English",
  "board.title": "Les cotes",
  "board.loading": "Chargement des matchs…",
  "board.empty": "Aucun match pour l'instant.",
  "board.live": "En direct",
  "board.scheduled": "À venir",
  "board.finished": "Terminé",
  "board.cancelled": "Annulé",
  "board.postponed": "Reporté",
  "board.stream.open": "Cotes en direct",
  "board.stream.connecting": "Connexion aux cotes en direct…",
  "board.stream.reconnecting": "Reconnexion aux cotes en direct…",
  "board.more": "Tous les paris",
  "board.kickoff": "Coup d'envoi {time}",
  "board.minute": "{minute}e minute",
  "market.pending": "Cotes à venir",
  "market.suspended": "Suspendu",
  "market.closed": "Fermé",
  "market.up": "en hausse",
  "market.down": "en baisse",
  "market.caption": "Cotes de {home} contre {away}",
  "outcome.home": "1",
  "outcome.draw": "N",
  "outcome.away": "2",
  "outcome.home.long": "Victoire {team}",
  "outcome.draw.long": "Match nul",
  "outcome.away.long": "Victoire {team}",
  "fixture.back": "Retour aux matchs",
  "fixture.markets": "Tous les marchés",
  "fixture.notfound": "Ce match n'existe pas.",
  "fixture.nomarkets": "Pas encore de cotes pour ce match.",
  "fixture.score": "Score",
  "fixture.outcome": "Issue",
  "fixture.price": "Cote",
  "market.1x2": "Résultat du match (1N2)",
  "market.double_chance": "Double chance",
  "market.draw_no_bet": "Remboursé si match nul",
  "market.total_goals": "Nombre de buts",
  "market.home_goals": "Buts de {team}",
  "market.away_goals": "Buts de {team}",
  "market.btts": "Les deux équipes marquent",
  "market.correct_score": "Score exact",
  "market.winning_margin": "Écart de buts",
  "market.asian_handicap": "Handicap asiatique",
  "market.next_goal": "Prochain but",
  "sel.home": "{home}",
  "sel.away": "{away}",
  "sel.draw": "Nul",
  "sel.none": "Aucun",
  "sel.yes": "Oui",
  "sel.no": "Non",
  "sel.over": "Plus de {line}",
  "sel.under": "Moins de {line}",
  "sel.home_draw": "{home} ou nul",
  "sel.draw_away": "Nul ou {away}",
  "sel.home_away": "{home} ou {away}",
  "sel.other": "Autre score",
  "sel.margin.home": "{home} par {n}",
  "sel.margin.away": "{away} par {n}",
  "sel.handicap": "{team} {line}",
  "register.title": "Créer un compte",
  "register.intro": "Réservé aux personnes majeures. Votre identité sera vérifiée avec FranceConnect avant tout retrait.",
  "register.submit": "Créer mon compte",
  "register.done": "Compte créé pour {email}. Vous pouvez vous connecter.",
  "signin.title": "Se connecter",
  "signin.submit": "Se connecter",
  "signin.done": "Vous êtes connecté.",
  "signin.totp": "Code à usage unique (si activé)",
  "form.email": "Adresse e-mail",
  "form.password": "Mot de passe",
  "form.password.hint": "8 à 128 caractères.",
  "form.adult": "J'ai 18 ans ou plus",
  "form.busy": "Envoi…",
  "form.errors": "Le formulaire contient une erreur",
  "footer.adult": "Les jeux d'argent sont interdits aux mineurs (18+).",
  "footer.regulator": "Jouer comporte des risques : endettement, isolement, dépendance. Pour être aidé, appelez le 09-74-75-13-13 (appel non surtaxé).",
  "footer.console": "Console d'exploitation",
  "problem.generic": "La demande a été refusée ({status}).",
  "problem.network": "Le service est injoignable. Vérifiez votre connexion puis réessayez.",
  "problem.unavailable": "Le service est momentanément indisponible. Réessayez dans un instant.",
  "problem.rate_limited": "Trop de tentatives depuis votre connexion. Réessayez dans quelques secondes.",
  "problem.email_taken": "Un compte utilise déjà cette adresse e-mail.",
  "problem.invalid_email": "Cette adresse e-mail n'est pas valide.",
  "problem.invalid_password": "Ce mot de passe n'est pas accepté : 8 à 128 caractères, et pas un mot de passe trop courant.",
  "problem.signin_failed": "L'adresse e-mail ou le mot de passe est incorrect.",
  "problem.locked": "Trop d'échecs de connexion : réessayez dans {seconds} s.",
  "problem.second_factor": "Saisissez le code de votre application d'authentification.",
  "problem.invalid_second_factor": "Ce code n'est pas valide.",
  "problem.session_ended": "Votre session a pris fin : reconnectez-vous.",
  "problem.unauthorized": "Vous devez vous connecter.",
  "problem.not_found": "Introuvable.",
  "problem.tokens_issued": "Cette connexion a déjà été utilisée : réessayez.",
  "problem.bad_request": "La demande n'est pas valide.",
  "problem.busy": "Le service est très sollicité. Réessayez dans un instant.",
  "problem.outcome_unknown": "Le résultat de la demande est incertain : réessayez, elle ne sera pas appliquée deux fois.",
  "problem.server": "Une erreur est survenue de notre côté. Réessayez plus tard.",
};
type Catalogue = Record<keyof typeof fr, string>;
export type MessageKey = keyof typeof fr;

const en: Catalogue = {
  "site.name": "Parlay",
  "site.skip": "Skip to content",
  "nav.main": "Main navigation",
  "nav.board": "Live games",
  "nav.register": "Create an account",
  "nav.signin": "Sign in",
  "nav.signout": "Sign out",
  "nav.signedin": "Signed in: {email}",
  "lang.label": "Language",
  "lang.fr": "Français",
  "lang.en": "English",
  "board.title": "Odds",
  "board.loading": "Loading games…",
  "board.empty": "No games yet.",
  "board.live": "Live",
  "board.scheduled": "Coming up",
  "board.finished": "Finished",
  "board.cancelled": "Cancelled",
  "board.postponed": "Postponed",
  "board.stream.open": "Live odds",
  "board.stream.connecting": "Connecting to live odds…",
  "board.stream.reconnecting": "Reconnecting to live odds…",
  "board.more": "All bets",
  "board.kickoff": "Kick-off {time}",
  "board.minute": "minute {minute}",
  "market.pending": "Odds coming",
  "market.suspended": "Suspended",
  "market.closed": "Closed",
  "market.up": "up",
  "market.down": "down",
  "market.caption": "Odds for {home} against {away}",
  "outcome.home": "1",
  "outcome.draw": "X",
  "outcome.away": "2",
  "outcome.home.long": "{team} to win",
  "outcome.draw.long": "Draw",
  "outcome.away.long": "{team} to win",
  "fixture.back": "Back to the games",
  "fixture.markets": "Every market",
  "fixture.notfound": "There is no such game.",
  "fixture.nomarkets": "No odds for this game yet.",
  "fixture.score": "Score",
  "fixture.outcome": "Outcome",
  "fixture.price": "Odds",
  "market.1x2": "Match result (1X2)",
  "market.double_chance": "Double chance",
  "market.draw_no_bet": "Draw no bet",
  "market.total_goals": "Total goals",
  "market.home_goals": "{team} goals",
  "market.away_goals": "{team} goals",
  "market.btts": "Both teams to score",
  "market.correct_score": "Correct score",
  "market.winning_margin": "Winning margin",
  "market.asian_handicap": "Asian handicap",
  "market.next_goal": "Next goal",
  "sel.home": "{home}",
  "sel.away": "{away}",
  "sel.draw": "Draw",
  "sel.none": "None",
  "sel.yes": "Yes",
  "sel.no": "No",
  "sel.over": "Over {line}",
  "sel.under": "Under {line}",
  "sel.home_draw": "{home} or draw",
  "sel.draw_away": "Draw or {away}",
  "sel.home_away": "{home} or {away}",
  "sel.other": "Any other score",
  "sel.margin.home": "{home} by {n}",
  "sel.margin.away": "{away} by {n}",
  "sel.handicap": "{team} {line}",
  "register.title": "Create an account",
  "register.intro": "Adults only. Your identity is checked with FranceConnect before any withdrawal.",
  "register.submit": "Create my account",
  "register.done": "Account created for {email}. You can sign in now.",
  "signin.title": "Sign in",
  "signin.submit": "Sign in",
  "signin.done": "You are signed in.",
  "signin.totp": "One-time code (if enabled)",
  "form.email": "Email address",
  "form.password": "Password",
  "form.password.hint": "8 to 128 characters.",
  "form.adult": "I am 18 or older",
  "form.busy": "Sending…",
  "form.errors": "The form has an error",
  "footer.adult": "Gambling is forbidden to minors (18+).",
  "footer.regulator": "Gambling carries risks: debt, isolation, addiction. For help, call 09-74-75-13-13 (free of extra charge).",
  "footer.console": "Operator console",
  "problem.generic": "The request was refused ({status}).",
  "problem.network": "The service cannot be reached. Check your connection and try again.",
  "problem.unavailable": "The service is unavailable for a moment. Try again shortly.",
  "problem.rate_limited": "Too many attempts from your connection. Try again in a few seconds.",
  "problem.email_taken": "An account already uses this email address.",
  "problem.invalid_email": "This email address is not valid.",
  "problem.invalid_password": "This password is not accepted: 8 to 128 characters, and not a too common one.",
  "problem.signin_failed": "The email address or the password is wrong.",
  "problem.locked": "Too many failed sign-ins: try again in {seconds} s.",
  "problem.second_factor": "Enter the code from your authenticator app.",
  "problem.invalid_second_factor": "This code is not valid.",
  "problem.session_ended": "Your session has ended: sign in again.",
  "problem.unauthorized": "You need to sign in.",
  "problem.not_found": "Not found.",
  "problem.tokens_issued": "This sign-in was already used: try again.",
  "problem.bad_request": "The request is not valid.",
  "problem.busy": "The service is very busy. Try again shortly.",
  "problem.outcome_unknown": "The outcome of the request is unknown: try again, it will not be applied twice.",
  "problem.server": "Something went wrong on our side. Try again later.",
};

export const catalogues: Record<Lang, Catalogue> = { fr, en };

export type Vars = Record<string, string | number>;
export function translate(lang: Lang, key: MessageKey, vars?: Vars): string {
  const text = catalogues[lang][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (vars && name in vars ? String(vars[name]) : m));
}

export interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: MessageKey, vars?: Vars) => string;
}
const Ctx = createContext<I18n | null>(null);

// The choice is a preference, not a secret: kept in sessionStorage for the tab's reloads.
function initialLang(): Lang {
  try {
    const saved = sessionStorage.getItem("parlay.lang");
    if (saved === "fr" || saved === "en") return saved;
  } catch {
    /* storage may be disabled */
  }
  return "fr";
}

export function I18nProvider({ children, lang: forced }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(forced ?? initialLang());
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang: (l) => {
        setLangState(l);
        try {
          sessionStorage.setItem("parlay.lang", l);
        } catch {
          /* ignore */
        }
      },
      t: (key, vars) => translate(lang, key, vars),
    }),
    [lang],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
