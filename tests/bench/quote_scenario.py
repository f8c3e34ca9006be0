#!/usr/bin/env python3
"""Feed-simulator scenarios for the quote benchmark (tests/bench/run.sh, section "quotes").

    quote_scenario.py latency  GAMES LIVE_AT SECONDS GAP   > latency.json
    quote_scenario.py capacity GAMES LIVE_AT               > capacity.json
    quote_scenario.py settle   SCENARIO FIXTURE GAMES SECONDS GAP > settle.json

Times are simulated seconds (the benchmark runs the simulators at --speed 1, so real seconds).
Every fixture is announced at 0, so that the cluster agrees it (and opens its markets) before
anything happens; play starts at LIVE_AT.

latency:  GAMES games kick off at LIVE_AT (period_start, kick_off, staggered over the first GAP
          seconds), then each has one event every GAP seconds (+-25 % jitter, deterministic)
          until LIVE_AT + SECONDS: goals (which suspend markets until agreed), red cards,
          penalties awarded / scored / missed, and plain period markers. With 20 games and a
          3 s gap that is about 6.7 live events a second.
capacity: GAMES games all kick off at LIVE_AT (period_start and kick_off) and then nothing
          happens: the nodes keep re-quoting them at their live cadence.
settle:   FIXTURE as SCENARIO has it (bets_bench settle: its bets are placed while the
          simulators stand still before its kick-off, then the clock jumps to its result), and
          GAMES latency games (ids QL-*) that kick off 2 s after that result and play as above
          for SECONDS: the other live games whose quotes are timed during the settlement.
No results are published for the latency games (they would close the markets).
"""
import json
import random
import sys


def fixture(i, prefix):
    return {"id": "%s-%04d" % (prefix, i), "sport": "football", "competition": "Bench League",
            "home": "Home %04d" % i, "away": "Away %04d" % i,
            "kickoff": "2026-11-28T15:00:00Z", "announce": 0}


def latency(games, live_at, seconds, gap):
    rng = random.Random(6)
    kinds = [("goal", "home"), ("goal", "away"), ("red_card", "away"),
             ("penalty_awarded", "home"), ("penalty_missed", "home"), ("penalty_scored", "away"),
             ("period_start", None), ("period_end", None)]
    out = []
    for i in range(1, games + 1):
        fx = fixture(i, "QL")
        offset = round(gap * (i - 1) / games, 3)
        fx["start"] = live_at + offset
        ev = [{"at": 0, "minute": 0, "period": 1, "type": "period_start"},
              {"at": 0, "minute": 0, "period": 1, "type": "kick_off"}]
        t = 0.0
        while True:
            t += gap * rng.uniform(0.75, 1.25)
            if offset + t > seconds:
                break
            typ, team = kinds[rng.randrange(len(kinds))]
            e = {"at": round(t, 3), "minute": min(int(t / 60 * 30) + 1, 44), "period": 1,
                 "type": typ}
            if team:
                e["team"] = team
            ev.append(e)
        fx["events"] = ev
        out.append(fx)
    return {"name": "bench: %d live games, an event every %gs each" % (games, gap),
            "fixtures": out}


def settle(scenario, fixture_id, games, seconds, gap):
    with open(scenario) as f:
        fx = [x for x in json.load(f)["fixtures"] if x["id"] == fixture_id]
    if len(fx) != 1 or "result" not in fx[0]:
        raise SystemExit("settle: %s has no fixture %s with a result" % (scenario, fixture_id))
    result_at = fx[0]["start"] + fx[0]["result"]["at"]
    sc = latency(games, result_at + 2, seconds, gap)
    sc["fixtures"].insert(0, fx[0])
    sc["name"] = "bench: %s (result at %gs), then %s" % (fixture_id, result_at, sc["name"])
    return sc


def capacity(games, live_at):
    out = []
    for i in range(1, games + 1):
        fx = fixture(i, "QC")
        fx["start"] = live_at
        fx["events"] = [{"at": 0, "minute": 0, "period": 1, "type": "period_start"},
                        {"at": 0, "minute": 0, "period": 1, "type": "kick_off"}]
        out.append(fx)
    return {"name": "bench: %d games kicking off together" % games, "fixtures": out}


def main(argv):
    if len(argv) == 6 and argv[1] == "latency":
        sc = latency(int(argv[2]), float(argv[3]), float(argv[4]), float(argv[5]))
    elif len(argv) == 7 and argv[1] == "settle":
        sc = settle(argv[2], argv[3], int(argv[4]), float(argv[5]), float(argv[6]))
    elif len(argv) == 4 and argv[1] == "capacity":
        sc = capacity(int(argv[2]), float(argv[3]))
    else:
        sys.stderr.write(__doc__)
        return 2
    json.dump(sc, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
