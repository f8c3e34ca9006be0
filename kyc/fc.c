/* kyc: FranceConnect v2 relying party (OpenID Connect authorization-code flow).
 *
 * The happy path of a login is:
 *   1. kyc_fc_authorize: fresh state and nonce (32 CSPRNG bytes each), the authorize URL with
 *      response_type=code, scope "openid identite_pivot email", acr_values=eidas1. The caller
 *      keeps state and nonce server-side and redirects the browser.
 *   2. The player authenticates at FranceConnect, which redirects to our redirect_uri with
 *      code, state and iss.
 *   3. kyc_fc_callback: state must be ours (else nothing else is looked at), iss must be our
 *      issuer, the code is exchanged at once (it lives 30 s) with client_secret_post, the ID
 *      token is verified (kyc_jwt_verify: ES256/RS256 only, iss, aud, exp, iat, nonce, acr),
 *      userinfo is fetched with the access token (it lives 60 s) and must be a signed JWT
 *      from the same issuer, for us, about the same sub. The identity comes from it.
 *
 * Possible failure modes: the provider is down or slow (every HTTP call has a timeout and
 * maps to KYC_E_HTTP/KYC_E_TIMEOUT), the player comes back with error=access_denied
 * (KYC_E_PROVIDER), a forged or replayed callback (KYC_E_STATE), a code already used or
 * expired (KYC_E_GRANT), keys rotated since we fetched the JWKS (unknown kid: the JWKS is
 * fetched again, at most once per jwks_refresh_s (30 s), and the check retried once), and any token
 * that fails a check (the KYC_E_JWT_* codes). */
#include "kyc/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#define JWKS_REFRESH_MIN_S 30

struct kyc_fc
{
    char* issuer;
    char* client_id;
    char* client_secret;
    char* redirect_uri;
    char* post_logout;
    char* scope;
    char* acr;
    char* ca_file;
    int64_t skew;
    int64_t jwks_refresh_s;
    kyc_http_opts http;
    pthread_mutex_t mu; /* guards discovery, jwks, jwks_at */
    json_t* discovery;
    json_t* jwks;
    time_t jwks_at;
};

static char* dup_or(const char* s, const char* dflt)
{
    const char* v = s && *s ? s : dflt;
    return v ? strdup(v) : NULL;
}

int kyc_fc_new(const kyc_fc_config* cfg, kyc_fc** out, kyc_err* err)
{
    *out = NULL;
    if (!cfg || !cfg->issuer || !cfg->client_id || !cfg->client_secret || !cfg->redirect_uri)
        return kyc_fail(err, KYC_E_INVAL,
                        "issuer, client_id, client_secret, redirect_uri required");
    if (strncmp(cfg->issuer, "https://", 8) != 0 &&
        !(cfg->allow_http && strncmp(cfg->issuer, "http://", 7) == 0))
        return kyc_fail(err, KYC_E_INVAL, "issuer must be https: %.100s", cfg->issuer);
    kyc_fc* fc = calloc(1, sizeof *fc);
    if (!fc)
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    fc->issuer = strdup(cfg->issuer);
    fc->client_id = strdup(cfg->client_id);
    fc->client_secret = strdup(cfg->client_secret);
    fc->redirect_uri = strdup(cfg->redirect_uri);
    fc->post_logout = dup_or(cfg->post_logout_redirect_uri, NULL);
    fc->scope = dup_or(cfg->scope, "openid identite_pivot email");
    fc->acr = dup_or(cfg->acr, "eidas1");
    fc->ca_file = dup_or(cfg->ca_file, NULL);
    fc->skew = cfg->skew > 0 ? cfg->skew : 60;
    fc->jwks_refresh_s = cfg->jwks_refresh_s == 0  ? JWKS_REFRESH_MIN_S
                         : cfg->jwks_refresh_s < 0 ? 0
                                                   : cfg->jwks_refresh_s;
    fc->http.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    fc->http.allow_http = cfg->allow_http;
    fc->http.ca_file = fc->ca_file;
    pthread_mutex_init(&fc->mu, NULL);
    if (!fc->issuer || !fc->client_id || !fc->client_secret || !fc->redirect_uri || !fc->scope ||
        !fc->acr || (cfg->post_logout_redirect_uri && !fc->post_logout)) {
        kyc_fc_free(fc);
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    }
    *out = fc;
    return KYC_OK;
}

void kyc_fc_free(kyc_fc* fc)
{
    if (!fc)
        return;
    free(fc->issuer);
    free(fc->client_id);
    if (fc->client_secret)
        OPENSSL_cleanse(fc->client_secret, strlen(fc->client_secret));
    free(fc->client_secret);
    free(fc->redirect_uri);
    free(fc->post_logout);
    free(fc->scope);
    free(fc->acr);
    free(fc->ca_file);
    json_decref(fc->discovery);
    json_decref(fc->jwks);
    pthread_mutex_destroy(&fc->mu);
    free(fc);
}

/* GET url, expect 200 and a JSON object. */
static int get_json(kyc_fc* fc, const char* url, const char* what, json_t** out, kyc_err* err)
{
    kyc_http_resp r;
    int rc = kyc_http_get(&fc->http, url, NULL, &r, err);
    if (rc)
        return rc;
    if (r.status != 200) {
        rc = kyc_fail(err, KYC_E_HTTP_STATUS, "%s: HTTP %ld from %.120s", what, r.status, url);
    } else {
        json_error_t je;
        *out = json_loadb(r.body, r.len, 0, &je);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = kyc_fail(err, KYC_E_RESPONSE, "%s: not a JSON object (%s)", what, je.text);
        }
    }
    kyc_http_resp_clear(&r);
    return rc;
}

static bool url_ok(kyc_fc* fc, const char* u)
{
    return u && (strncmp(u, "https://", 8) == 0 ||
                 (fc->http.allow_http && strncmp(u, "http://", 7) == 0));
}

static int fetch_jwks(kyc_fc* fc, kyc_err* err)
{
    pthread_mutex_lock(&fc->mu);
    const char* u = json_string_value(json_object_get(fc->discovery, "jwks_uri"));
    char* uri = u ? strdup(u) : NULL;
    pthread_mutex_unlock(&fc->mu);
    if (!uri)
        return kyc_fail(err, KYC_E_DISCOVERY, "no jwks_uri");
    json_t* jwks = NULL;
    int rc = get_json(fc, uri, "jwks", &jwks, err);
    free(uri);
    if (rc)
        return rc;
    if (!json_is_array(json_object_get(jwks, "keys"))) {
        json_decref(jwks);
        return kyc_fail(err, KYC_E_RESPONSE, "jwks: no keys array");
    }
    pthread_mutex_lock(&fc->mu);
    json_decref(fc->jwks);
    fc->jwks = jwks;
    fc->jwks_at = time(NULL);
    pthread_mutex_unlock(&fc->mu);
    return KYC_OK;
}

int kyc_fc_discover(kyc_fc* fc, kyc_err* err)
{
    size_t n = strlen(fc->issuer);
    char* url = malloc(n + 40);
    if (!url)
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    bool slash = n && fc->issuer[n - 1] == '/';
    snprintf(url, n + 40, "%s%s.well-known/openid-configuration", fc->issuer, slash ? "" : "/");
    json_t* d = NULL;
    int rc = get_json(fc, url, "discovery", &d, err);
    free(url);
    if (rc)
        return rc;
    /* The issuer must be exactly ours (mix-up defence); every endpoint we use must be there. */
    const char* iss = json_string_value(json_object_get(d, "issuer"));
    if (!iss || strcmp(iss, fc->issuer) != 0) {
        rc = kyc_fail(err, KYC_E_DISCOVERY, "discovery issuer \"%.100s\" is not \"%.100s\"",
                      iss ? iss : "(missing)", fc->issuer);
        json_decref(d);
        return rc;
    }
    static const char* need[] = {"authorization_endpoint", "token_endpoint", "userinfo_endpoint",
                                 "jwks_uri"};
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        if (!url_ok(fc, json_string_value(json_object_get(d, need[i])))) {
            json_decref(d);
            return kyc_fail(err, KYC_E_DISCOVERY, "discovery: %s missing or not https", need[i]);
        }
    }
    pthread_mutex_lock(&fc->mu);
    json_decref(fc->discovery);
    fc->discovery = d;
    pthread_mutex_unlock(&fc->mu);
    return fetch_jwks(fc, err);
}

static int ensure_discovered(kyc_fc* fc, kyc_err* err)
{
    pthread_mutex_lock(&fc->mu);
    bool have = fc->discovery && fc->jwks;
    pthread_mutex_unlock(&fc->mu);
    return have ? KYC_OK : kyc_fc_discover(fc, err);
}

/* A copy of an endpoint URL (the discovery document may be replaced meanwhile). */
static char* endpoint_dup(kyc_fc* fc, const char* name)
{
    pthread_mutex_lock(&fc->mu);
    const char* v = json_string_value(json_object_get(fc->discovery, name));
    char* s = v ? strdup(v) : NULL;
    pthread_mutex_unlock(&fc->mu);
    return s;
}

const char* kyc_fc_endpoint(const kyc_fc* fc, const char* name)
{
    return json_string_value(json_object_get(fc->discovery, name));
}

/* Builds base?k1=v1&k2=v2... with values percent-encoded; NULL values are skipped. */
static char* build_url(const char* base, const char* const* kv, size_t n)
{
    size_t cap = strlen(base) + 2;
    char* enc[16] = {0};
    for (size_t i = 0; i < n && i < 16; i++) {
        if (!kv[2 * i + 1])
            continue;
        enc[i] = kyc_urlencode(kv[2 * i + 1]);
        if (!enc[i])
            goto fail;
        cap += strlen(kv[2 * i]) + strlen(enc[i]) + 2;
    }
    char* url = malloc(cap);
    if (!url)
        goto fail;
    strcpy(url, base);
    char sep = strchr(base, '?') ? '&' : '?';
    size_t o = strlen(url);
    for (size_t i = 0; i < n && i < 16; i++) {
        if (!enc[i])
            continue;
        o += (size_t)sprintf(url + o, "%c%s=%s", sep, kv[2 * i], enc[i]);
        sep = '&';
        free(enc[i]);
    }
    return url;
fail:
    for (size_t i = 0; i < 16; i++)
        free(enc[i]);
    return NULL;
}

int kyc_fc_authorize(kyc_fc* fc, kyc_fc_login* login, char** url, kyc_err* err)
{
    *url = NULL;
    int rc = ensure_discovered(fc, err);
    if (rc)
        return rc;
    if ((rc = kyc_random_token(login->state, err)) || (rc = kyc_random_token(login->nonce, err)))
        return rc;
    char* ep = endpoint_dup(fc, "authorization_endpoint");
    if (!ep)
        return kyc_fail(err, KYC_E_DISCOVERY, "no authorization_endpoint");
    const char* kv[] = {"response_type", "code",           "client_id", fc->client_id,
                        "redirect_uri",  fc->redirect_uri, "scope",     fc->scope,
                        "acr_values",    fc->acr,          "state",     login->state,
                        "nonce",         login->nonce,     "prompt",    "login"};
    *url = build_url(ep, kv, sizeof kv / sizeof *kv / 2);
    free(ep);
    return *url ? KYC_OK : kyc_fail(err, KYC_E_NOMEM, "out of memory");
}

int kyc_fc_logout_url(kyc_fc* fc, const char* id_token, const char* state, char** url, kyc_err* err)
{
    *url = NULL;
    if (!id_token || !*id_token)
        return kyc_fail(err, KYC_E_INVAL, "logout needs the id_token (id_token_hint)");
    int rc = ensure_discovered(fc, err);
    if (rc)
        return rc;
    char* ep = endpoint_dup(fc, "end_session_endpoint");
    if (!ep)
        return kyc_fail(err, KYC_E_DISCOVERY, "provider has no end_session_endpoint");
    const char* kv[] = {"id_token_hint", id_token, "state", state, "post_logout_redirect_uri",
                        fc->post_logout};
    *url = build_url(ep, kv, 3);
    free(ep);
    return *url ? KYC_OK : kyc_fail(err, KYC_E_NOMEM, "out of memory");
}

void kyc_fc_result_clear(kyc_fc_result* res)
{
    if (!res)
        return;
    free(res->id_token);
    memset(res, 0, sizeof *res);
}

static bool const_eq(const char* a, const char* b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* Verifies with the cached JWKS; on an unknown key fetches the JWKS again (rate limited)
 * and retries once: the provider may have rotated its keys. */
static int verify_jwt(kyc_fc* fc,
                      const char* token,
                      const kyc_jwt_expect* e,
                      json_t** claims,
                      kyc_err* err)
{
    for (int attempt = 0;; attempt++) {
        pthread_mutex_lock(&fc->mu);
        json_t* jwks = json_incref(fc->jwks);
        time_t at = fc->jwks_at;
        pthread_mutex_unlock(&fc->mu);
        int rc = kyc_jwt_verify(token, jwks, e, claims, err);
        json_decref(jwks);
        if (rc != KYC_E_JWT_KEY || attempt > 0 || time(NULL) - at < fc->jwks_refresh_s)
            return rc;
        kyc_err ferr;
        if (fetch_jwks(fc, &ferr) != KYC_OK)
            return rc;
    }
}

static int exchange_code(kyc_fc* fc, const char* code, json_t** tok, kyc_err* err)
{
    char* ep = endpoint_dup(fc, "token_endpoint");
    if (!ep)
        return kyc_fail(err, KYC_E_DISCOVERY, "no token_endpoint");
    const char* kv[] = {"grant_type",    "authorization_code", "code",      code,
                        "redirect_uri",  fc->redirect_uri,     "client_id", fc->client_id,
                        "client_secret", fc->client_secret};
    char* form = build_url("", kv, 5);
    if (!form) {
        free(ep);
        return kyc_fail(err, KYC_E_NOMEM, "out of memory");
    }
    kyc_http_resp r;
    int rc = kyc_http_post_form(&fc->http, ep, form + 1 /* skip '?' */, &r, err);
    OPENSSL_cleanse(form, strlen(form));
    free(form);
    free(ep);
    if (rc)
        return rc;
    json_error_t je;
    json_t* j = json_loadb(r.body, r.len, 0, &je);
    if (r.status != 200) {
        const char* e = json_string_value(json_object_get(j, "error"));
        const char* d = json_string_value(json_object_get(j, "error_description"));
        if (r.status == 400 && e && strcmp(e, "invalid_grant") == 0)
            rc = kyc_fail(err, KYC_E_GRANT, "token endpoint: invalid_grant (%.120s)",
                          d ? d : "code used, expired or not ours");
        else
            rc = kyc_fail(err, KYC_E_HTTP_STATUS, "token endpoint: HTTP %ld %.60s %.120s", r.status,
                          e ? e : "", d ? d : "");
        json_decref(j);
    } else if (!json_is_object(j) || !json_is_string(json_object_get(j, "id_token")) ||
               !json_is_string(json_object_get(j, "access_token"))) {
        rc = kyc_fail(err, KYC_E_RESPONSE, "token response lacks id_token or access_token");
        json_decref(j);
    } else {
        const char* tt = json_string_value(json_object_get(j, "token_type"));
        if (!tt || strcasecmp(tt, "Bearer") != 0) {
            rc = kyc_fail(err, KYC_E_RESPONSE, "token_type \"%.20s\" is not Bearer",
                          tt ? tt : "(missing)");
            json_decref(j);
        } else {
            *tok = j;
        }
    }
    kyc_http_resp_clear(&r);
    return rc;
}

static int fetch_userinfo(kyc_fc* fc,
                          const char* access_token,
                          const char* sub,
                          int64_t now,
                          json_t** claims,
                          kyc_err* err)
{
    char* ep = endpoint_dup(fc, "userinfo_endpoint");
    if (!ep)
        return kyc_fail(err, KYC_E_DISCOVERY, "no userinfo_endpoint");
    kyc_http_resp r;
    int rc = kyc_http_get(&fc->http, ep, access_token, &r, err);
    free(ep);
    if (rc)
        return rc;
    if (r.status != 200) {
        rc = kyc_fail(err, KYC_E_HTTP_STATUS, "userinfo: HTTP %ld", r.status);
    } else if (strncasecmp(r.content_type, "application/jwt", 15) != 0) {
        rc = kyc_fail(err, KYC_E_USERINFO_UNSIGNED,
                      "userinfo content type \"%.60s\", expected a signed application/jwt",
                      r.content_type);
    } else {
        /* Trim trailing whitespace a server may add after the compact JWS. */
        while (r.len &&
               (r.body[r.len - 1] == '\n' || r.body[r.len - 1] == '\r' || r.body[r.len - 1] == ' '))
            r.body[--r.len] = '\0';
        kyc_jwt_expect e = {.issuer = fc->issuer,
                            .audience = fc->client_id,
                            .now = now,
                            .skew = fc->skew,
                            .require_exp_iat = false};
        rc = verify_jwt(fc, r.body, &e, claims, err);
        if (rc == KYC_OK) {
            const char* usub = json_string_value(json_object_get(*claims, "sub"));
            if (!usub || strcmp(usub, sub) != 0) {
                rc = kyc_fail(err, KYC_E_JWT_SUB, "userinfo sub is not the ID token's sub");
                json_decref(*claims);
                *claims = NULL;
            }
        }
    }
    kyc_http_resp_clear(&r);
    return rc;
}

static bool all_digits(const char* s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Copies one claim into a fixed field; required claims must be non-empty strings. */
static int claim(json_t* c, const char* name, char* dst, size_t dstsz, bool required, kyc_err* err)
{
    json_t* v = json_object_get(c, name);
    if (!v || json_is_null(v)) {
        dst[0] = '\0';
        return required ? kyc_fail(err, KYC_E_IDENTITY, "claim %s missing", name) : KYC_OK;
    }
    const char* s = json_string_value(v);
    if (!s)
        return kyc_fail(err, KYC_E_IDENTITY, "claim %s is not a string", name);
    if (required && !*s)
        return kyc_fail(err, KYC_E_IDENTITY, "claim %s is empty", name);
    if (!kyc_copy(dst, dstsz, s))
        return kyc_fail(err, KYC_E_IDENTITY, "claim %s longer than %zu bytes", name, dstsz - 1);
    return KYC_OK;
}

static int fill_identity(json_t* u, kyc_identity* id, kyc_err* err)
{
    int rc;
    if ((rc = claim(u, "given_name", id->given_names, sizeof id->given_names, true, err)) ||
        (rc = claim(u, "family_name", id->family_name, sizeof id->family_name, true, err)) ||
        (rc = claim(u, "birthdate", id->birthdate, sizeof id->birthdate, true, err)) ||
        (rc = claim(u, "birthcountry", id->birthcountry, sizeof id->birthcountry, true, err)) ||
        (rc = claim(u, "birthplace", id->birthplace, sizeof id->birthplace, false, err)) ||
        (rc = claim(u, "gender", id->gender, sizeof id->gender, true, err)) ||
        (rc = claim(u, "email", id->email, sizeof id->email, false, err)))
        return rc;
    kyc_birthdate bd;
    kyc_err berr;
    if (kyc_birthdate_parse(id->birthdate, &bd, &berr))
        return kyc_fail(err, KYC_E_IDENTITY, "birthdate: %s", berr.msg);
    if (!all_digits(id->birthcountry, 5) || strncmp(id->birthcountry, "99", 2) != 0)
        return kyc_fail(err, KYC_E_IDENTITY, "birthcountry \"%s\" is not an INSEE 99xxx code",
                        id->birthcountry);
    /* INSEE commune codes are 5 characters (Corsica: 2A/2B); FranceConnect gives one only
     * for people born in France. */
    bool france = strcmp(id->birthcountry, "99100") == 0;
    if (france && strlen(id->birthplace) != 5)
        return kyc_fail(err, KYC_E_IDENTITY, "born in France without a 5-character birthplace");
    if (strcmp(id->gender, "male") != 0 && strcmp(id->gender, "female") != 0 &&
        strcmp(id->gender, "unspecified") != 0)
        return kyc_fail(err, KYC_E_IDENTITY, "gender \"%s\" unknown", id->gender);
    return KYC_OK;
}

int kyc_fc_callback(kyc_fc* fc,
                    const kyc_fc_login* login,
                    const char* query,
                    int64_t now,
                    kyc_fc_result* res,
                    kyc_err* err)
{
    memset(res, 0, sizeof *res);
    if (!login || !query)
        return kyc_fail(err, KYC_E_INVAL, "callback needs the login record and the query");
    int rc = KYC_OK;
    json_t *tok = NULL, *idc = NULL, *uc = NULL;
    char* state = kyc_query_get(query, "state");
    char* error = kyc_query_get(query, "error");
    char* desc = kyc_query_get(query, "error_description");
    char* iss = kyc_query_get(query, "iss");
    char* code = kyc_query_get(query, "code");
    /* State first: a callback we did not start is refused before anything else is read. */
    if (!state || !login->state[0] || !const_eq(state, login->state)) {
        rc = kyc_fail(err, KYC_E_STATE, "callback state %s", state ? "does not match" : "missing");
        goto out;
    }
    if (error) {
        rc = kyc_fail(err, KYC_E_PROVIDER, "provider error %.60s: %.150s", error, desc ? desc : "");
        goto out;
    }
    if (iss && strcmp(iss, fc->issuer) != 0) {
        rc = kyc_fail(err, KYC_E_ISS_PARAM, "callback iss \"%.100s\" is not our issuer", iss);
        goto out;
    }
    if (!code || !*code) {
        rc = kyc_fail(err, KYC_E_INVAL, "callback has no code");
        goto out;
    }
    if ((rc = ensure_discovered(fc, err)) || (rc = exchange_code(fc, code, &tok, err)))
        goto out;
    const char* id_token = json_string_value(json_object_get(tok, "id_token"));
    kyc_jwt_expect e = {.issuer = fc->issuer,
                        .audience = fc->client_id,
                        .nonce = login->nonce,
                        .acr = fc->acr,
                        .now = now,
                        .skew = fc->skew,
                        .require_exp_iat = true};
    if ((rc = verify_jwt(fc, id_token, &e, &idc, err)))
        goto out;
    const char* sub = json_string_value(json_object_get(idc, "sub"));
    if ((rc = fetch_userinfo(fc, json_string_value(json_object_get(tok, "access_token")), sub, now,
                             &uc, err)))
        goto out;
    if ((rc = fill_identity(uc, &res->id, err)))
        goto out;
    if (!kyc_copy(res->id.sub, sizeof res->id.sub, sub) ||
        !kyc_copy(res->id.issuer, sizeof res->id.issuer, fc->issuer) ||
        !kyc_copy(res->id.acr, sizeof res->id.acr,
                  json_string_value(json_object_get(idc, "acr")))) {
        rc = kyc_fail(err, KYC_E_IDENTITY, "sub, issuer or acr too long");
        goto out;
    }
    json_t* at = json_object_get(idc, "auth_time");
    res->auth_time = json_is_integer(at) ? (int64_t)json_integer_value(at) : 0;
    res->id_token = strdup(id_token);
    if (!res->id_token)
        rc = kyc_fail(err, KYC_E_NOMEM, "out of memory");
out:
    if (rc)
        kyc_fc_result_clear(res);
    json_decref(tok);
    json_decref(idc);
    json_decref(uc);
    free(state);
    free(error);
    free(desc);
    free(iss);
    if (code)
        OPENSSL_cleanse(code, strlen(code));
    free(code);
    return rc;
}
