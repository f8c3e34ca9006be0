import { useEffect, useRef } from "react";
import type { Fixture, Market } from "./api";
import { formatPrice } from "./format";
import { useI18n } from "./i18n";
import { problemMessage, type Problem } from "./problems";
import { sameSelection, slip, useSlip, type Leg } from "./slip";

// One price, with its up/down mark for a few seconds after it moved. The arrow is decoration;
// hidden words say the selection (where no table header does) and the move to screen readers.
export function Price({ milli, dir, label }: { milli?: number; dir?: -1 | 0 | 1; label?: string }) {
  const { t, lang } = useI18n();
  const moved = dir === 1 ? "up" : dir === -1 ? "down" : undefined;
  return (
    <span className={`price${moved ? ` price-${moved}` : ""}`} data-moved={moved}>
      {label && <span className="sr-only">{label} </span>}
      <span className="value">{formatPrice(milli, lang)}</span>
      {moved && (
        <>
          <span aria-hidden="true" className="arrow">{moved === "up" ? "▲" : "▼"}</span>
          <span className="sr-only">, {t(moved === "up" ? "market.up" : "market.down")}</span>
        </>
      )}
    </span>
  );
}

export function MarketStatus({ market }: { market?: Market }) {
  const { t } = useI18n();
  if (!market || market.status === "pending") return <span className="badge">{t("market.pending")}</span>;
  if (market.status === "suspended") return <span className="badge badge-suspended" data-status="suspended">{t("market.suspended")}</span>;
  if (market.status === "closed") return <span className="badge">{t("market.closed")}</span>;
  return null;
}

// A refusal, translated; focused when it appears so that keyboard and screen-reader users hear it.
export function ProblemAlert({ problem }: { problem?: Problem }) {
  const { t, lang } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (problem) ref.current?.focus();
  }, [problem]);
  if (!problem) return null;
  const { key, vars } = problemMessage(problem, lang);
  return (
    <div className="alert" role="alert" tabIndex={-1} ref={ref} data-problem-status={problem.status}>
      {t(key, vars)}
    </div>
  );
}

// A price the player can put on the bet slip: a toggle button (pressed while on the slip),
// disabled while the market is not open. Its name is the selection and the price.
export function PickButton({ f, m, market, line, outcome, milli, label, dir, className }: {
  f: Fixture;
  m?: Market;
  market: string;
  line?: string;
  outcome: string;
  milli?: number;
  label: string;
  dir?: -1 | 0 | 1;
  className?: string;
}) {
  const { legs } = useSlip();
  const open = m?.status === "open" && typeof milli === "number" && milli > 1000;
  const leg: Leg | undefined = open
    ? { sport: m.sport || f.sport, fixture: f.id, home: f.home, away: f.away, market, ...(line !== undefined ? { line } : {}), outcome, price: milli, version: m.version }
    : undefined;
  const picked = legs.some((l) => sameSelection(l, { fixture: f.id, market, line, outcome } as Leg));
  return (
    <button
      type="button"
      className={`pick${className ? ` ${className}` : ""}`}
      aria-pressed={picked}
      disabled={!leg}
      data-pick={`${market}${line !== undefined ? `/${line}` : ""}/${outcome}`}
      onClick={() => leg && slip.pick(leg)}
    >
      <Price milli={milli} dir={dir} label={label} />
    </button>
  );
}
