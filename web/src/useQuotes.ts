// Fixtures and markets of one sport (or one fixture), kept current from the quote stream.
import { useEffect, useReducer, useState } from "react";
import { api, ApiError, listAll, type Fixture, type Market } from "./api";
import type { Problem } from "./problems";
import {
  emptyQuotes,
  parseQuoteEvent,
  withEvent,
  withFixture,
  withoutOldMoves,
  withSnapshot,
  type QuoteEvent,
  type QuotesState,
} from "./quotes";
import { openStream, type StreamStatus } from "./stream";

type Action =
  | { kind: "snapshot"; fixtures: Fixture[]; markets: Market[] }
  | { kind: "event"; ev: QuoteEvent }
  | { kind: "fixture"; fixture: Fixture }
  | { kind: "tick" };

function reduce(s: QuotesState, a: Action): QuotesState {
  const now = Date.now();
  switch (a.kind) {
    case "snapshot":
      return withSnapshot(s, a.fixtures, a.markets, now);
    case "event":
      return withEvent(s, a.ev, now);
    case "fixture":
      return withFixture(s, a.fixture);
    case "tick":
      return withoutOldMoves(s, now);
  }
}

export function useQuotes(sport: string, fixtureId?: string) {
  const [state, dispatch] = useReducer(reduce, emptyQuotes);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [problem, setProblem] = useState<Problem | undefined>();
  const [lastId, setLastId] = useState<string | undefined>();

  useEffect(() => {
    const base = `/api/${sport}/v1`;
    const ctl = new AbortController();
    const asked = new Set<string>();
    // A publication for a fixture not in the snapshot (agreed since): fetch it once.
    const fetchFixture = (id: string) => {
      if (asked.has(id)) return;
      asked.add(id);
      api<Fixture>(`${base}/fixtures/${encodeURIComponent(id)}`, { signal: ctl.signal })
        .then((f) => dispatch({ kind: "fixture", fixture: f }))
        .catch(() => asked.delete(id));
    };
    // The stream first, then the snapshot: events in between are kept and merged by version.
    const filter = fixtureId ? `?fixture=${encodeURIComponent(fixtureId)}` : "";
    const stream = openStream({
      url: `${base}/stream/quotes${filter}`,
      onStatus: setStatus,
      onEvent: (e) => {
        setLastId(e.id);
        const ev = parseQuoteEvent(e.event, e.data);
        if (!ev) return;
        dispatch({ kind: "event", ev });
        if (!fixtureId) fetchFixture(ev.fixture);
      },
    });
    (async () => {
      for (let attempt = 0; !ctl.signal.aborted; attempt++) {
        try {
          if (fixtureId) {
            const f = await api<Fixture>(`${base}/fixtures/${encodeURIComponent(fixtureId)}`, { signal: ctl.signal });
            asked.add(f.id);
            let markets: Market[] = [];
            try {
              markets = [await api<Market>(`${base}/fixtures/${encodeURIComponent(fixtureId)}/markets`, { signal: ctl.signal })];
            } catch (e) {
              if (!(e instanceof ApiError && e.problem.status === 404)) throw e;
            }
            dispatch({ kind: "snapshot", fixtures: [f], markets });
          } else {
            const [fixtures, markets] = await Promise.all([
              listAll<Fixture>(`${base}/fixtures`, 500, ctl.signal),
              listAll<Market>(`${base}/markets`, 1000, ctl.signal),
            ]);
            fixtures.forEach((f) => asked.add(f.id));
            dispatch({ kind: "snapshot", fixtures, markets });
          }
          setProblem(undefined);
          return;
        } catch (e) {
          if (ctl.signal.aborted) return;
          const p = e instanceof ApiError ? e.problem : { status: 0, code: "client.network" };
          // A missing fixture is final; anything else is retried (another node may answer).
          if (p.status === 404) {
            setProblem(p);
            return;
          }
          if (attempt >= 2) setProblem(p);
          await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** attempt, 5000)));
        }
      }
    })();
    const tick = setInterval(() => dispatch({ kind: "tick" }), 500);
    return () => {
      ctl.abort();
      stream.close();
      clearInterval(tick);
    };
  }, [sport, fixtureId]);

  return { state, status, problem, lastId };
}
