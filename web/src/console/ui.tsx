// What the console's pages share: the translator's type, money, the alert, loading with the
// problem translated.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import type { Problem, Result, Session } from "./api";
import { refusal, type ConsoleKey, type ConsoleLang } from "./messages";

export const SPORT = "football";

export type T = (key: ConsoleKey, vars?: Record<string, string | number>) => string;

export function cents(lang: ConsoleLang, c: number): string {
  return new Intl.NumberFormat(lang === "fr" ? "fr-FR" : "en-GB", { style: "currency", currency: "EUR" }).format(c / 100);
}

export function Alert({ children }: { children: ReactNode }) {
  return <p role="alert" className="console-alert">{children}</p>;
}

// Loads @load now and on demand; the problem (if any) translated.
export function useLoad<V>(load: () => Promise<Result<V>>): [V | undefined, Problem | undefined, () => void] {
  const [v, setV] = useState<V>();
  const [p, setP] = useState<Problem>();
  const ref = useRef(load);
  ref.current = load;
  const reload = useCallback(() => {
    ref.current().then((r) => {
      if (r.ok) { setV(r.value); setP(undefined); } else setP(r.problem);
    });
  }, []);
  useEffect(reload, [reload]);
  return [v, p, reload];
}

export interface PageProps { s: Session; t: T; lang: ConsoleLang; onProblem: (p: Problem) => void }

export function Failure({ p, lang, onProblem }: { p?: Problem; lang: ConsoleLang; onProblem: (p: Problem) => void }) {
  useEffect(() => { if (p) onProblem(p); }, [p, onProblem]);
  return p ? <Alert>{refusal(lang, p.code, p.status, p.detail)}</Alert> : null;
}
