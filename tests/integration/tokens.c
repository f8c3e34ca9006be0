/* Access-token scenarios shared by the integration tests (see tokens.h). */
#include "tests/integration/tokens.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static size_t jwks_keys(struct h_cluster *c, int i)
{
    struct h_resp r = h_http(c, i, "GET", "/.well-known/jwks.json", NULL, NULL, false);
    size_t n = json_array_size(json_object_get(r.json, "keys"));
    h_resp_free(&r);
    return n;
}

void tk_wait_keys(struct h_cluster *c, int i, size_t n)
{
    double deadline = h_now() + 30;
    while (jwks_keys(c, i) != n && h_now() < deadline)
        h_sleep_ms(20);
    assert_int_equal(jwks_keys(c, i), n);
}

void tk_start_clusters(struct h_cluster *a, int na, struct h_cluster *s, int ns, int jwks_node,
                       char *extra, size_t extra_n)
{
    h_cluster_init(a, na);
    a->role = "accounts";
    h_cluster_write_configs(a);
    h_start_cluster(a);
    for (int i = 0; i < na; i++)
        tk_wait_keys(a, i, 1);
    snprintf(extra, extra_n,
             "{\"accounts_jwks_url\": \"http://127.0.0.1:%d/.well-known/jwks.json\", "
             "\"accounts_jwks_min_interval_ms\": 0}",
             a->nodes[jwks_node].http_port);
    h_cluster_init(s, ns);
    s->extra_config = extra;
    h_cluster_write_configs(s);
    h_start_cluster(s);
}

static void copy_field(json_t *o, const char *k, char *out, size_t n)
{
    const char *v = json_string_value(json_object_get(o, k));
    assert_non_null(v);
    snprintf(out, n, "%s", v);
}

void tk_sign_up(struct h_cluster *a, int i, const char *email, const char *pw, char player[64],
                char *token, size_t tn, char session[64])
{
    char body[512], key[128];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    snprintf(key, sizeof key, "reg-%s", email);
    struct h_resp r = h_http_bearer(a, i, "POST", "/v1/players", body, key, NULL);
    assert_int_equal(r.status, 201);
    copy_field(r.json, "id", player, 64);
    h_resp_free(&r);
    snprintf(key, sizeof key, "in-%s", email);
    r = h_http_bearer(a, i, "POST", "/v1/sessions", body, key, NULL);
    assert_int_equal(r.status, 201);
    copy_field(r.json, "access_token", token, tn);
    copy_field(r.json, "session_id", session, 64);
    h_resp_free(&r);
}

char *tk_sign(cjose_jwk_t *k, const char *kid, const char *claims)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    assert_true(cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_ES256, &err));
    assert_true(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
    cjose_jws_t *jws = cjose_jws_sign(k, h, (const uint8_t *)claims, strlen(claims), &err);
    assert_non_null(jws);
    const char *compact;
    assert_true(cjose_jws_export(jws, &compact, &err));
    char *out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

void tk_register_sport_cluster(struct h_cluster *a, struct h_cluster *s, const char *key)
{
    json_t *keys = json_array();
    char cluster[64] = "";
    for (int i = 0; i < s->n; i++) {
        json_t *st = h_status(s, i);
        assert_non_null(st);
        json_array_append(keys, json_object_get(st, "public_key"));
        snprintf(cluster, sizeof cluster, "%s",
                 json_string_value(json_object_get(st, "cluster")) ?: "");
        json_decref(st);
    }
    json_t *reg = json_pack("{s:s, s:o}", "name", cluster, "keys", keys);
    char *regt = json_dumps(reg, JSON_COMPACT);
    json_decref(reg);
    struct h_resp r = h_http(a, 0, "POST", "/admin/v1/sport-clusters", regt, key, true);
    free(regt);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

void tk_me_code(struct h_cluster *s, int i, const char *token, char code[64])
{
    struct h_resp r = h_http_bearer(s, i, "GET", "/v1/me", NULL, NULL, token);
    const char *c = json_string_value(json_object_get(r.json, "code"));
    snprintf(code, 64, "%s", r.status == 200 ? "" : c ? c : "?");
    h_resp_free(&r);
}

void tk_wait_me_code(struct h_cluster *s, const char *token, const char *want)
{
    for (int i = 0; i < s->n; i++) {
        double deadline = h_now() + 15;
        char code[64] = "";
        for (tk_me_code(s, i, token, code); strcmp(code, want) != 0 && h_now() < deadline;
             tk_me_code(s, i, token, code))
            h_sleep_ms(50);
        if (strcmp(code, want) != 0)
            fail_msg("sport node %d answers '%s', not '%s'", i + 1, code, want);
    }
}
