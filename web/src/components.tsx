import { useEffect, useRef } from "react";
import type { Market } from "./api";
import { formatPrice } from "./format";
import { useI18n } from "./i18n";
import { problemMessage, type Problem } from "./problems";

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
  const { t } = useI18n();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (problem) ref.current?.focus();
  }, [problem]);
  if (!problem) return null;
  const { key, vars } = problemMessage(problem);
  return (
    <div className="alert" role="alert" tabIndex={-1} ref={ref} data-problem-status={problem.status}>
      {t(key, vars)}
    </div>
  );
}
