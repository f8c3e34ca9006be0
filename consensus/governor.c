/* The return-to-player governor's replicated state: CMD_GOVERNOR_ADJUST, CMD_GOVERNOR_RESET and
 * their queries. See governor.h for the happy path and the failure modes. Apply checks
 * everything before it writes, so a refusal changes nothing; the adjustment is whatever the
 * rule (governor_rule.c) derives from the payload, the stamp's date and the state, never a
 * number the payload asserts. */
#include "consensus/governor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/cmdtable.h"
#include "consensus/store.h"

const struct fsm_domain governor_domain;

#define KEY "state"
#define REASON_MIN 3
#define REASON_MAX 500

static MDB_dbi db(struct fsm *f)
{
    return fsm_domain_dbis(f, &governor_domain)[0];
}

json_t *governor_get(struct fsm *f, MDB_txn *txn)
{
    json_t *s = store_get_json(txn, db(f), KEY, strlen(KEY));
    return s ? s : json_pack("{s:i, s:i, s:[]}", "margin_bp", 0, "changes", 0, "history");
}

int governor_margin_bp(struct fsm *f, MDB_txn *txn)
{
    json_t *s = store_get_json(txn, db(f), KEY, strlen(KEY));
    int bp = (int)json_integer_value(json_object_get(s, "margin_bp"));
    json_decref(s);
    return bp;
}

/* The UTC date of @time_ms: the year, the 0-based day of the year and the year's days. */
static void date_of(uint64_t time_ms, int *year, int *day, int *days)
{
    time_t t = (time_t)(time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    *year = tm.tm_year + 1900;
    *day = tm.tm_yday;
    bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
    *days = leap ? 366 : 365;
}

static int inputs_from(json_t *s, int year, int64_t stakes, int64_t payouts, uint64_t time_ms,
                       gov_in *in)
{
    int y;
    *in = (gov_in){.stakes = stakes, .payouts = payouts};
    date_of(time_ms, &y, &in->day, &in->days);
    if (y != year)
        return -1;
    in->current_bp = (int)json_integer_value(json_object_get(s, "margin_bp"));
    /* The window: since the adjustment last changed, if that was this year. */
    if (json_integer_value(json_object_get(s, "year")) == year) {
        in->has_window = 1;
        in->win_stakes = stakes - json_integer_value(json_object_get(s, "base_stakes"));
        in->win_payouts = payouts - json_integer_value(json_object_get(s, "base_payouts"));
    }
    return 0;
}

int governor_inputs(struct fsm *f, MDB_txn *txn, int year, int64_t stakes, int64_t payouts,
                    uint64_t time_ms, gov_in *in)
{
    json_t *s = governor_get(f, txn);
    int rv = inputs_from(s, year, stakes, payouts, time_ms, in);
    json_decref(s);
    return rv;
}

json_t *governor_cfg_json(const gov_cfg *cfg)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:I}", "target_bp", cfg->target_bp, "band_bp",
                     cfg->band_bp, "step_bp", cfg->step_bp, "max_bp", cfg->max_bp, "min_stakes",
                     (json_int_t)cfg->min_stakes);
}

/* A refusal with its stable code (store_problem: 0, as apply returns after one). */
#define refuse(res, status, code, ...)                                                         \
    store_problem((res), (status), (status) == 409 ? "Stale reading" : "Invalid governor command", \
                  (code), __VA_ARGS__)

/* An integer field of @p within @lo..@hi into @out. */
static bool int_field(json_t *p, const char *k, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(p, k);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = json_integer_value(v);
    return true;
}

/* The payload's reading and parameters, checked: 0, or -1 with the 422 problem in @res. */
static int parse_adjust(json_t *p, int *year, int64_t *stakes, int64_t *payouts, gov_cfg *cfg,
                        struct fsm_result *res)
{
    static const char *const fields[] = {"year",   "stakes", "payouts", "target_bp", "band_bp",
                                         "step_bp", "max_bp", "min_stakes", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(p, k, v)
    {
        bool ok = false;
        for (size_t i = 0; fields[i]; i++)
            ok = ok || !strcmp(k, fields[i]);
        if (!ok)
            return refuse(res, 422, "unknown_field", "unknown field '%s'", k), -1;
    }
    int64_t y, t, b, s, m;
    if (!int_field(p, "year", 2000, 9999, &y) || !int_field(p, "stakes", 0, INT64_MAX, stakes) ||
        !int_field(p, "payouts", 0, INT64_MAX, payouts))
        return refuse(res, 422, "invalid_reading",
                      "need {year: 2000..9999, stakes and payouts: cents >= 0}"), -1;
    if (!int_field(p, "target_bp", 0, 100000, &t) || !int_field(p, "band_bp", 0, 100000, &b) ||
        !int_field(p, "step_bp", 0, 100000, &s) || !int_field(p, "max_bp", 0, 100000, &m) ||
        !int_field(p, "min_stakes", 0, INT64_MAX, &cfg->min_stakes))
        return refuse(res, 422, "invalid_governor_cfg",
                      "need integers target_bp, band_bp, step_bp, max_bp and min_stakes"), -1;
    *year = (int)y;
    cfg->target_bp = (int)t;
    cfg->band_bp = (int)b;
    cfg->step_bp = (int)s;
    cfg->max_bp = (int)m;
    if (gov_cfg_check(cfg) != 0)
        return refuse(res, 422, "governor_cfg_out_of_bounds",
                      "target_bp %d..%d, band_bp 0..1000, step_bp 1..%d, max_bp 0..%d",
                      GOV_TARGET_MIN_BP, GOV_TARGET_MAX_BP, GOV_STEP_MAX_BP, GOV_MAX_BP), -1;
    return 0;
}

static json_t *out_json(const gov_out *o)
{
    return json_pack("{s:i, s:s, s:i, s:i, s:i, s:i}", "next_bp", o->next_bp, "why",
                     gov_why_name(o->why), "ytd_bp", o->ytd_bp, "recent_bp", o->recent_bp,
                     "projected_bp", o->projected_bp, "needed_bp", o->needed_bp);
}

/* Append @h (stolen) to the state's history and count the change. */
static void record_change(struct fsm *f, json_t *s, json_t *h, const char *at)
{
    json_int_t n = json_integer_value(json_object_get(s, "changes")) + 1;
    json_object_set_new(h, "n", json_integer(n));
    json_object_set_new(h, "entry", json_integer((json_int_t)fsm_applying(f)));
    json_object_set_new(h, "at", json_string(at));
    json_t *hist = json_object_get(s, "history");
    json_array_append_new(hist, h);
    while (json_array_size(hist) > GOVERNOR_HISTORY_KEEP)
        json_array_remove(hist, 0);
    json_object_set_new(s, "changes", json_integer(n));
    json_object_set_new(s, "updated_at", json_string(at));
}

/* The state as a result: without the history, with @change (stolen, may be NULL). */
static int put_and_answer(struct fsm *f, MDB_txn *txn, json_t *s, json_t *change,
                          struct fsm_result *res)
{
    int rv = store_put_json(txn, db(f), KEY, strlen(KEY), s, NULL);
    if (rv == 0) {
        json_t *r = json_deep_copy(s);
        json_object_del(r, "history");
        json_object_set_new(r, "change", change ? change : json_null());
        store_result_json(res, 200, r);
    } else {
        json_decref(change);
    }
    return rv;
}

static int apply_adjust(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *p = store_payload(c, true, res);
    if (!p)
        return 0;
    int year, rv = 0;
    int64_t stakes, payouts;
    gov_cfg cfg;
    gov_in in;
    gov_out out;
    json_t *s = NULL;
    if (parse_adjust(p, &year, &stakes, &payouts, &cfg, res) != 0)
        goto out;
    s = governor_get(f, txn);
    if (inputs_from(s, year, stakes, payouts, c->time_ms, &in) != 0) {
        refuse(res, 409, "stale_reading", "the reading is of %d, the stamp is not", year);
        goto out;
    }
    if (in.current_bp > cfg.max_bp) /* max_bp lowered since: come down step by step */
        in.current_bp = cfg.max_bp < in.current_bp - cfg.step_bp ? in.current_bp - cfg.step_bp
                                                                 : cfg.max_bp;
    if (gov_next(&cfg, &in, &out) != 0) {
        refuse(res, 422, "invalid_reading", "the reading is outside the rule's range");
        goto out;
    }
    char at[32];
    fsm_format_time(c->time_ms, at);
    json_t *last = out_json(&out);
    json_object_set_new(last, "at", json_string(at));
    json_object_set_new(last, "stakes", json_integer((json_int_t)stakes));
    json_object_set_new(last, "payouts", json_integer((json_int_t)payouts));
    json_object_set_new(last, "cfg", governor_cfg_json(&cfg));
    json_object_set_new(s, "last", last);
    json_t *change = NULL;
    int from = (int)json_integer_value(json_object_get(s, "margin_bp"));
    if (out.next_bp != from) {
        json_t *h = out_json(&out);
        json_object_set_new(h, "from", json_integer(from));
        json_object_set_new(h, "to", json_integer(out.next_bp));
        json_object_set_new(h, "stakes", json_integer((json_int_t)stakes));
        json_object_set_new(h, "payouts", json_integer((json_int_t)payouts));
        json_object_set_new(h, "target_bp", json_integer(cfg.target_bp));
        json_object_set_new(s, "margin_bp", json_integer(out.next_bp));
        /* The window starts again at this reading: it measures the new adjustment. */
        json_object_set_new(s, "year", json_integer(year));
        json_object_set_new(s, "base_stakes", json_integer((json_int_t)stakes));
        json_object_set_new(s, "base_payouts", json_integer((json_int_t)payouts));
        record_change(f, s, h, at);
        change = json_incref(h);
    }
    rv = put_and_answer(f, txn, s, change, res);
out:
    json_decref(s);
    json_decref(p);
    return rv;
}

static int apply_reset(struct fsm *f, MDB_txn *txn, const struct cmd *c, struct fsm_result *res)
{
    json_t *p = store_payload(c, true, res);
    if (!p)
        return 0;
    int rv = 0;
    const char *reason = store_str(p, "reason");
    json_t *by = json_object_get(p, "by");
    size_t rl = reason ? strlen(reason) : 0;
    if (rl < REASON_MIN || rl > REASON_MAX || json_object_size(p) != (by ? 2u : 1u) ||
        (by && (!json_is_string(by) || strlen(json_string_value(by)) > 200))) {
        refuse(res, 422, "invalid_governor_reset",
               "need {reason: %d to %d bytes of text} and nothing else", REASON_MIN, REASON_MAX);
        goto out;
    }
    json_t *s = governor_get(f, txn);
    char at[32];
    fsm_format_time(c->time_ms, at);
    json_t *h = json_pack("{s:s, s:O, s:i, s:i, s:s}", "why", "reset", "reason",
                          json_object_get(p, "reason"), "from",
                          (int)json_integer_value(json_object_get(s, "margin_bp")), "to", 0,
                          "by", by ? json_string_value(by) : "");
    json_object_set_new(s, "margin_bp", json_integer(0));
    json_object_del(s, "year"); /* no window: the next evaluation starts from the year's TRJ */
    json_object_del(s, "base_stakes");
    json_object_del(s, "base_payouts");
    record_change(f, s, h, at);
    rv = put_and_answer(f, txn, s, json_incref(h), res);
    json_decref(s);
out:
    json_decref(p);
    return rv;
}

char *governor_cmd_adjust(struct cmd *c, int year, int64_t stakes, int64_t payouts,
                          const gov_cfg *cfg)
{
    json_t *o = governor_cfg_json(cfg);
    json_object_set_new(o, "year", json_integer(year));
    json_object_set_new(o, "stakes", json_integer((json_int_t)stakes));
    json_object_set_new(o, "payouts", json_integer((json_int_t)payouts));
    char *text = cmd_fill(c, CMD_GOVERNOR_ADJUST, o);
    json_decref(o);
    return text;
}

char *governor_cmd_reset(struct cmd *c, const char *reason, const char *by)
{
    json_t *o = json_pack("{s:s}", "reason", reason ? reason : "");
    if (by)
        json_object_set_new(o, "by", json_string(by));
    char *text = cmd_fill(c, CMD_GOVERNOR_RESET, o);
    json_decref(o);
    return text;
}

/* Batchable: both travel wrapped in CMD_ADMIN (the audit trail), which shares entries; the
 * history records the shared entry's index, as trader.c does. */
static const struct fsm_command COMMANDS[] = {
    {CMD_GOVERNOR_ADJUST, "governor_adjust", true, apply_adjust, NULL},
    {CMD_GOVERNOR_RESET, "governor_reset", true, apply_reset, NULL},
    {0, NULL, false, NULL, NULL},
};

static const char *const DBS[] = {"governor", NULL};

const struct fsm_domain governor_domain = {"governor", COMMANDS, DBS};
