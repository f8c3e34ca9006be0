#!/usr/bin/env python3
"""Writes the shipped scenarios (deterministic: same output on every run).

    python3 tests/feedsim/scenarios/generate.py               # rewrites tests/feedsim/scenarios/*.json
    python3 tests/feedsim/scenarios/generate.py --busy 1000   # 1000 concurrent games, to stdout
    python3 tests/feedsim/scenarios/generate.py --real FILE.csv 10   # 10 real games, to stdout

Market snapshots ("odds": 1X2 milli-odds per book) come from a football-data CSV's pre-match
columns when a scenario is built from real games (--real; never a closing column such as PSCH
or B365CH), and are synthetic otherwise (football-odds.json).

Times: "start" is the simulated second of kick-off; each event's "at" counts from it.
Football halves are 45 minutes plus stoppage with a 15-minute break.
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
HALF_BREAK = 15 * 60


def football_at(minute, stoppage, period, first_half_len):
    """Simulated seconds after kick-off of a football match clock reading."""
    if period == 1:
        return (minute + stoppage) * 60
    return first_half_len * 60 + HALF_BREAK + (minute - 45 + stoppage) * 60


def football_events(spec, first_half_len):
    """spec: (minute, stoppage, period, type, team|None)"""
    out = []
    for minute, stoppage, period, typ, team in spec:
        e = {"at": football_at(minute, stoppage, period, first_half_len), "minute": minute,
             "period": period, "type": typ}
        if stoppage:
            e["stoppage"] = stoppage
        if team:
            e["team"] = team
        out.append(e)
    return out


def score_of(events):
    s = {"home": 0, "away": 0}
    for e in events:
        if e["type"] in ("goal", "penalty_scored"):
            s[e["team"]] += 1
        elif e["type"] == "own_goal":
            s["away" if e["team"] == "home" else "home"] += 1
    return s


def football_full():
    spec = [
        (0, 0, 1, "period_start", None), (0, 0, 1, "kick_off", None),
        (12, 0, 1, "goal", "home"),
        (27, 0, 1, "penalty_awarded", "away"), (28, 0, 1, "penalty_scored", "away"),
        (39, 0, 1, "red_card", "away"),
        (45, 2, 1, "goal", "home"),
        (45, 3, 1, "period_end", None),
        (45, 0, 2, "period_start", None),
        (58, 0, 2, "own_goal", "away"),
        (71, 0, 2, "penalty_awarded", "home"), (72, 0, 2, "penalty_missed", "home"),
        (84, 0, 2, "goal", "away"),
        (90, 4, 2, "goal", "home"),
        (90, 5, 2, "period_end", None),
    ]
    ev = football_events(spec, 48)
    s = score_of(ev)
    fx = {"id": "FB-1001", "sport": "football", "competition": "Premier League",
          "home": "Arsenal", "away": "Chelsea", "kickoff": "2026-11-28T15:00:00Z",
          "announce": 0, "start": 60, "events": ev,
          "result": {"at": ev[-1]["at"] + 60, "status": "final", **s}}
    return {"name": "football: Arsenal v Chelsea, full match", "fixtures": [fx]}


def tennis_match(rng, p_serve_home=0.64, p_serve_away=0.62):
    """Point by point, best of three sets, tie-break at 6-6. Returns (events, sets)."""
    ev, t = [{"at": 0, "minute": 0, "period": 1, "type": "kick_off"}], 0
    sets = {"home": 0, "away": 0}
    server = "home"
    other = {"home": "away", "away": "home"}
    set_no = 0
    while max(sets.values()) < 2:
        set_no += 1
        ev.append({"at": t, "minute": t // 60, "period": set_no, "type": "period_start"})
        games = {"home": 0, "away": 0}
        while True:
            tiebreak = games["home"] == 6 and games["away"] == 6
            pts = {"home": 0, "away": 0}
            tb_server = server
            n = 0
            while True:
                srv = tb_server if tiebreak else server
                p = p_serve_home if srv == "home" else p_serve_away
                win = srv if rng.random() < p else other[srv]
                t += rng.randint(25, 55)
                ev.append({"at": t, "minute": t // 60, "period": set_no, "type": "point",
                           "server": srv, "winner": win})
                pts[win] += 1
                n += 1
                if tiebreak and n % 2 == 1:
                    tb_server = other[tb_server]
                need = 7 if tiebreak else 4
                if pts[win] >= need and pts[win] - pts[other[win]] >= 2:
                    games[win] += 1
                    break
            server = other[server]
            t += 20
            g = games
            lead = max(g, key=g.get)
            if (g[lead] == 6 and g[other[lead]] <= 4) or g[lead] == 7:
                sets[lead] += 1
                break
        ev.append({"at": t, "minute": t // 60, "period": set_no, "type": "period_end"})
        t += 120
    return ev, sets


def tennis():
    for seed in range(1, 200):  # the first seed that goes to a third set
        ev, sets = tennis_match(random.Random(seed))
        if min(sets.values()) == 1:
            break
    fx = {"id": "TN-2001", "sport": "tennis", "competition": "ATP Finals",
          "home": "Jannik Sinner", "away": "Carlos Alcaraz", "kickoff": "2026-11-28T14:00:00Z",
          "announce": 0, "start": 60, "events": ev,
          "result": {"at": ev[-1]["at"] + 30, "status": "final", **sets}}
    return {"name": "tennis: best of three, point by point", "fixtures": [fx]}


def basketball():
    rng = random.Random(7)
    ev, t = [{"at": 0, "minute": 0, "period": 1, "type": "kick_off"}], 0
    # A quarter is 12 minutes of game clock, about 20 minutes of real time; breaks of two
    # minutes, fifteen at half time.
    base = 0
    for q in range(1, 5):
        ev.append({"at": base, "minute": (q - 1) * 12, "period": q, "type": "period_start"})
        for minute in sorted(rng.sample(range(1, 12), 3)):
            ev.append({"at": base + minute * 100, "minute": (q - 1) * 12 + minute,
                       "period": q, "type": "scoring_run", "team": rng.choice(["home", "away"]),
                       "points": rng.choice([6, 7, 8, 9, 10, 12])})
        ev.append({"at": base + 1200, "minute": q * 12, "period": q, "type": "period_end"})
        base += 1200 + (900 if q == 2 else 120)
    fx = {"id": "BB-3001", "sport": "basketball", "competition": "EuroLeague",
          "home": "Real Madrid", "away": "Olympiacos", "kickoff": "2026-11-28T19:00:00Z",
          "announce": 0, "start": 60, "events": ev,
          "result": {"at": ev[-1]["at"] + 30, "status": "final", "home": 88, "away": 81}}
    return {"name": "basketball: four quarters with scoring runs", "fixtures": [fx]}


TEAMS = ["Arsenal", "Aston Villa", "Bournemouth", "Brentford", "Brighton", "Burnley", "Chelsea",
         "Crystal Palace", "Everton", "Fulham", "Leeds", "Liverpool", "Manchester City",
         "Manchester United", "Newcastle", "Nottingham Forest", "Sunderland", "Tottenham",
         "West Ham", "Wolves", "Lens", "Lille", "Lyon", "Marseille", "Monaco", "Nantes", "Nice",
         "Paris SG", "Rennes", "Strasbourg", "Toulouse", "Brest", "Auxerre", "Angers",
         "Le Havre", "Lorient", "Metz", "Paris FC", "Ajax", "PSV", "Bayern Munich",
         "Borussia Dortmund", "RB Leipzig", "Bayer Leverkusen", "Eintracht Frankfurt",
         "VfB Stuttgart", "SC Freiburg", "Werder Bremen", "Union Berlin", "Mainz",
         "Inter", "AC Milan", "Juventus", "Napoli", "Roma", "Lazio", "Atalanta", "Fiorentina",
         "Bologna", "Torino", "Real Madrid", "Barcelona", "Atletico Madrid", "Sevilla",
         "Real Sociedad", "Villarreal", "Real Betis", "Athletic Club", "Valencia", "Girona"]
COMPETITIONS = ["Premier League", "Ligue 1", "Bundesliga", "Serie A", "LaLiga"]


def busy_afternoon(games=40):
    rng = random.Random(2026)
    teams = TEAMS[:] + ["Club %d" % i for i in range(max(0, 2 * games - len(TEAMS)))]
    rng.shuffle(teams)
    fixtures = []
    for g in range(games):
        home, away = teams[2 * g % len(teams)], teams[(2 * g + 1) % len(teams)]
        if home == away:
            away = teams[(2 * g + 2) % len(teams)]
        start = 60 + 300 * (g % 4)  # four kick-off slots, five minutes apart
        spec = [(0, 0, 1, "period_start", None), (0, 0, 1, "kick_off", None)]
        stoppage1, stoppage2 = rng.randint(1, 4), rng.randint(2, 6)
        for period, lo, hi in ((1, 1, 45), (2, 46, 90)):
            if period == 2:
                spec.append((45, stoppage1, 1, "period_end", None))
                spec.append((45, 0, 2, "period_start", None))
            moments = sorted(rng.sample(range(lo, hi + 1), rng.randint(1, 4)))
            for m in moments:
                r, team = rng.random(), rng.choice(["home", "away"])
                if r < 0.55:
                    spec.append((m, 0, period, "goal", team))
                elif r < 0.65:
                    spec.append((m, 0, period, "own_goal", team))
                elif r < 0.85:
                    spec.append((m, 0, period, "penalty_awarded", team))
                    spec.append((m + 1 if m < hi else m, 1 if m == hi else 0, period,
                                 "penalty_scored" if rng.random() < 0.78 else "penalty_missed",
                                 team))
                else:
                    spec.append((m, 0, period, "red_card", team))
        spec.append((90, stoppage2, 2, "period_end", None))
        ev = football_events(spec, 45 + stoppage1)
        ev.sort(key=lambda e: e["at"])
        fixtures.append({
            "id": "BA-%03d" % (g + 1), "sport": "football",
            "competition": COMPETITIONS[g * len(COMPETITIONS) // games],
            "home": home, "away": away,
            "kickoff": "2026-11-28T%02d:%02d:00Z" % (15 + (g % 4) * 5 // 60, (g % 4) * 5),
            "announce": 0, "start": start, "events": ev,
            "result": {"at": ev[-1]["at"] + 60, "status": "final", **score_of(ev)}})
    return {"name": "busy afternoon: %d football games" % games, "fixtures": fixtures}


def football_odds():
    """The full match with two market snapshots, both before kick-off (at 60): two books
    making the home side a clear favourite at 20 s, then one book drifting at 40 s. The
    fixture alone is published at 0, so a test sees it priced by the model alone first."""
    doc = football_full()
    fx = doc["fixtures"][0]
    fx["odds"] = [{"at": 20, "odds_milli": [[1500, 4200, 6500], [1550, 4000, 6000]]},
                  {"at": 40, "odds_milli": [[1900, 3600, 4200]]}]
    doc["name"] = "football: Arsenal v Chelsea, full match, with market snapshots"
    return doc


# Pre-match 1X2 columns of football-data.co.uk, in the order a provider lists its books.
# Closing columns (PSCH, B365CH, ...) and aggregates (BbMx, BbAv, Max, Avg) are not books.
REAL_BOOKS = ["B365", "BW", "IW", "LB", "PS", "WH", "VC", "SJ"]


def real_games(path, n):
    """The first n games of a football-data CSV with their real score and pre-match odds.
    Goals are placed at reproducible minutes (the CSV has no timeline)."""
    import csv
    rng = random.Random(17)
    fixtures = []
    with open(path, newline="", encoding="latin-1") as f:
        for row in csv.DictReader(f):
            if len(fixtures) == n:
                break
            if not row.get("HomeTeam") or not row.get("FTHG"):
                continue
            books = []
            for b in REAL_BOOKS:
                try:
                    odds = [int(round(float(row[b + k]) * 1000)) for k in "HDA"]
                except (KeyError, ValueError):
                    continue
                if min(odds) > 1000 and sum(1000.0 / o for o in odds) > 1:
                    books.append(odds)
            g = len(fixtures)
            spec = [(0, 0, 1, "period_start", None), (0, 0, 1, "kick_off", None)]
            goals = ["home"] * int(row["FTHG"]) + ["away"] * int(row["FTAG"])
            minutes = sorted(rng.sample(range(1, 90), len(goals)))
            rng.shuffle(goals)
            for m, team in zip(minutes, goals):
                spec.append((m, 0, 1 if m <= 45 else 2, "goal", team))
            spec.insert(sum(1 for m in minutes if m <= 45) + 2, (45, 1, 1, "period_end", None))
            spec.insert(len(spec) - sum(1 for m in minutes if m > 45), (45, 0, 2, "period_start", None))
            spec.append((90, 3, 2, "period_end", None))
            ev = football_events(spec, 46)
            d, mth, y = row["Date"].split("/")
            y = ("20" + y) if len(y) == 2 else y
            fx = {"id": "FD-%s-%03d" % (y, g + 1), "sport": "football",
                  "competition": row.get("Div", "football-data"), "home": row["HomeTeam"],
                  "away": row["AwayTeam"], "kickoff": "%s-%s-%sT15:00:00Z" % (y, mth, d),
                  "announce": 0, "start": 600 + 60 * g, "events": ev,
                  "result": {"at": ev[-1]["at"] + 60, "status": "final", **score_of(ev)}}
            if books:
                fx["odds"] = [{"at": 0, "odds_milli": books[:8]}]
            fixtures.append(fx)
    return {"name": "real games from %s" % os.path.basename(path), "fixtures": fixtures}


def write(name, doc):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 3 and sys.argv[1] == "--busy":  # a bigger afternoon, to stdout
        json.dump(busy_afternoon(int(sys.argv[2])), sys.stdout)
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "--real":  # real games with their odds, to stdout
        json.dump(real_games(sys.argv[2], int(sys.argv[3])), sys.stdout, indent=1)
        sys.exit(0)
    write("football-odds.json", football_odds())
    write("football.json", football_full())
    write("tennis.json", tennis())
    write("basketball.json", basketball())
    write("busy-afternoon.json", busy_afternoon())
