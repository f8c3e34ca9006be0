// The reality information bar (responsible gambling): time signed in in this session and the
// net result of the bets placed since, and over the last 7 days, always visible while signed in;
// the time is counted every 20 s, the bets read again every 60 s and on each page change. Each new whole hour of play is
// announced once (a polite live region) with the session's net result and an invitation to pause.
import { useEffect, useState } from "react";
import type { Session } from "./auth";
import { useI18n } from "./i18n";
import { formatCents } from "./money";
import { betsSince, hoursMinutes, realityFigures, reminderDue, WEEK_MS, type RealityFigures } from "./reality";

const SPORT = "football";

export function RealityBar({ session, path }: { session: Session; path: string }) {
  const { t, lang } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  const [figs, setFigs] = useState<{ session: RealityFigures; week: RealityFigures }>();
  const [hourShown, setHourShown] = useState(0);
  const [reminder, setReminder] = useState<string>();
  useEffect(() => { const id = setInterval(() => setNow(Date.now()), 20_000); return () => clearInterval(id); }, []);
  useEffect(() => {
    let live = true;
    const load = () => {
      const weekFrom = Date.now() - WEEK_MS;
      betsSince(SPORT, session.accessToken, Math.min(weekFrom, session.since)).then((bets) => {
        if (live) setFigs({ session: realityFigures(bets, session.since), week: realityFigures(bets, weekFrom) });
      }).catch(() => undefined);
    };
    load();
    const id = setInterval(load, 60_000);
    return () => { live = false; clearInterval(id); };
    // The token changes every renewal: the figures need only the player and the session start.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session.playerId, session.since, path]);
  const dur = (ms: number) => {
    const { h, m } = hoursMinutes(ms);
    return h ? t("reality.hm", { h, m: String(m).padStart(2, "0") }) : t("reality.m", { m });
  };
  const money = (c: number) => (c > 0 ? "+" : "") + formatCents(c, lang);
  const elapsed = now - session.since;
  useEffect(() => {
    const h = reminderDue(elapsed, hourShown);
    if (h === null) return;
    setHourShown(h);
    setReminder(t("reality.reminder", { time: dur(elapsed), net: figs ? money(figs.session.net) : "—" }));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [elapsed, hourShown]);
  return (
    <aside className="reality" aria-label={t("reality.title")} data-net={figs?.session.net ?? ""}>
      <p className="reality-time">{t("reality.time", { time: dur(elapsed) })}</p>
      {figs && (
        <>
          <p className="reality-session">{t("reality.session", { stakes: formatCents(figs.session.stakes, lang), returns: formatCents(figs.session.returns, lang), net: money(figs.session.net) })}</p>
          <p className="reality-week">{t("reality.week", { net: money(figs.week.net) })}</p>
        </>
      )}
      <p role="status" className="reality-reminder">{reminder ?? ""}</p>
    </aside>
  );
}
