/* Holds placed and resolved per second on a three-node accounts cluster (tests/bench/run.sh,
 * section "holds"; never run by `make test`).
 *
 * Set-up, through the public API like any client: PLAYERS players register and sign in, set
 * their limits, deposit through the payment stand-in (its hosted page's "Pay"), and an operator
 * registers a sport cluster whose member key this program holds. Then, for each client count
 * given, that many threads (each on one node, round robin, keep-alive) loop for SECONDS: place a
 * hold (signed like a sport cluster member), then resolve it (post the whole stake with no
 * payout, or void it, alternately). Before that, the same clients measure the raw committed-write
 * rate of this cluster through the same write path (a player lowering a limit, each with its own
 * Idempotency-Key). A line per run: operations/s (a hold = place + resolve, two commands), p50
 * and p99 of one operation, errors.
 *
 * Then the same clients in batches, as a sport cluster's leader works (its hold saga): each
 * client sends one POST /internal/v1/hold-batches placing HOLDS_BATCH holds (default 256, one
 * accounts command), then one resolving them all (post and void alternately). Its line: holds
 * placed and resolved per second (pairs), p50/p99 of one round (two batch calls), errors (items
 * not 201/200).
 *
 * usage: holds_bench TOKEN_FILE PAY_URL SECONDS CLIENTS... (nodes at 127.0.0.1:19411-19413) */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <secp256k1.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODES 3
#define PLAYERS 16

static char token[256], pay_url[128], sport_pub[67];
static uint8_t sport_sk[32];
static secp256k1_context *sign_ctx; /* made once; signing with it is safe from every thread */
static char player_id[PLAYERS][64];
static char player_tok[PLAYERS][2048];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *d, size_t s, size_t n, void *ud)
{
    struct buf *b = ud;
    b->p = realloc(b->p, b->n + s * n + 1);
    memcpy(b->p + b->n, d, s * n);
    b->n += s * n;
    b->p[b->n] = 0;
    return s * n;
}

/* One request on @c (reused: keep-alive); the status, the body JSON in @out if asked. */
static long req(CURL *c, const char *method, const char *url, const char *body,
                struct curl_slist *h, json_t **out)
{
    struct buf b = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (!body)
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    long st = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    if (out)
        *out = b.p ? json_loads(b.p, 0, NULL) : NULL;
    free(b.p);
    return st;
}

static struct curl_slist *headers(const char *bearer, const char *idem)
{
    char a[2200], k[200];
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    if (bearer) {
        snprintf(a, sizeof a, "authorization: Bearer %s", bearer);
        h = curl_slist_append(h, a);
    }
    if (idem) {
        snprintf(k, sizeof k, "idempotency-key: %s", idem);
        h = curl_slist_append(h, k);
    }
    return h;
}

static long call(CURL *c, int node, const char *method, const char *path, const char *body,
                 const char *bearer, const char *idem, json_t **out)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", 19411 + node, path);
    struct curl_slist *h = headers(bearer, idem);
    long st = req(c, method, url, body, h, out);
    curl_slist_free_all(h);
    return st;
}

/* A sport-cluster member's signed call (consensus/wallet.h: wallet_request_digest). */
static long sport_call_out(CURL *c, int node, const char *path, const char *body, json_t **out);
static long sport_call(CURL *c, int node, const char *path, const char *body)
{
    return sport_call_out(c, node, path, body, NULL);
}

static long sport_call_out(CURL *c, int node, const char *path, const char *body, json_t **out)
{
    char ts[32], sig[129], h1[64], h2[64], h3[200], url[256];
    snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
    uint8_t d[32], raw[64];
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    const char *parts[] = {"parlay-wallet-v1", "bench", ts, "POST", path};
    for (int i = 0; i < 5; i++)
        EVP_DigestUpdate(md, parts[i], strlen(parts[i]) + 1);
    EVP_DigestUpdate(md, body, strlen(body));
    EVP_DigestFinal_ex(md, d, NULL);
    EVP_MD_CTX_free(md);
    secp256k1_ecdsa_signature s;
    secp256k1_ecdsa_sign(sign_ctx, &s, d, sport_sk, NULL, NULL);
    secp256k1_ecdsa_signature_serialize_compact(sign_ctx, raw, &s);
    for (int i = 0; i < 64; i++)
        sprintf(sig + 2 * i, "%02x", raw[i]);
    snprintf(h1, sizeof h1, "parlay-cluster: bench");
    snprintf(h2, sizeof h2, "parlay-timestamp: %s", ts);
    snprintf(h3, sizeof h3, "parlay-signature: %s", sig);
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    h = curl_slist_append(h, h1);
    h = curl_slist_append(h, h2);
    h = curl_slist_append(h, h3);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", 19411 + node, path);
    long st = req(c, "POST", url, body, h, out);
    curl_slist_free_all(h);
    return st;
}

static int batch_n = 256;

/* The items of the last batch answered with @want, counted. */
static int batch_ok(json_t *out, long want)
{
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(out, "results"), i, r) n +=
        json_integer_value(json_object_get(r, "status")) == want;
    return n;
}

static void setup(void)
{
    CURL *c = curl_easy_init();
    json_t *out;
    char body[512], key[64];
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_pubkey pk;
    RAND_bytes(sport_sk, 32);
    if (!secp256k1_ec_pubkey_create(ctx, &pk, sport_sk))
        exit(1);
    uint8_t ser[33];
    size_t sl = 33;
    secp256k1_ec_pubkey_serialize(ctx, ser, &sl, &pk, SECP256K1_EC_COMPRESSED);
    secp256k1_context_destroy(ctx);
    for (int i = 0; i < 33; i++)
        sprintf(sport_pub + 2 * i, "%02x", ser[i]);
    snprintf(body, sizeof body, "{\"name\":\"bench\",\"keys\":[\"%s\"]}", sport_pub);
    if (call(c, 0, "POST", "/admin/v1/sport-clusters", body, token, "bench-cluster", NULL) != 200) {
        fprintf(stderr, "holds_bench: the sport cluster could not be registered\n");
        exit(1);
    }
    for (int p = 0; p < PLAYERS; p++) {
        char tok[2048];
        snprintf(body, sizeof body, "{\"email\":\"holds-%d@example.fr\",\"password\":\"bench password %d\"}", p, p);
        snprintf(key, sizeof key, "hb-reg-%d", p);
        if (call(c, p % NODES, "POST", "/v1/players", body, NULL, key, &out) != 201) {
            fprintf(stderr, "holds_bench: register failed\n");
            exit(1);
        }
        snprintf(player_id[p], sizeof player_id[p], "%s", json_string_value(json_object_get(out, "id")));
        json_decref(out);
        snprintf(key, sizeof key, "hb-in-%d", p);
        if (call(c, p % NODES, "POST", "/v1/sessions", body, NULL, key, &out) != 201) {
            fprintf(stderr, "holds_bench: sign-in failed\n");
            exit(1);
        }
        snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(out, "access_token")));
        snprintf(player_tok[p], sizeof player_tok[p], "%s", tok);
        json_decref(out);
        snprintf(key, sizeof key, "hb-lim-%d", p);
        call(c, p % NODES, "POST", "/v1/wallet/limits",
             "{\"deposit_7d\":100000000000,\"stake_7d\":100000000000}", tok, key, NULL);
        snprintf(key, sizeof key, "hb-dep-%d", p);
        long st = call(c, p % NODES, "POST", "/v1/wallet/deposits", "{\"amount\":100000000}",
                       tok, key, &out);
        if (st != 201) {
            char *t = out ? json_dumps(out, 0) : NULL;
            fprintf(stderr, "holds_bench: deposit failed: %ld %s\n", st, t ? t : "");
            exit(1);
        }
        char url[256];
        snprintf(url, sizeof url, "%s/pay/%s/confirm", pay_url,
                 json_string_value(json_object_get(out, "payment_id")));
        json_decref(out);
        struct curl_slist *h = curl_slist_append(NULL, "content-type: application/x-www-form-urlencoded");
        req(c, "POST", url, "card=4242424242424242", h, NULL);
        curl_slist_free_all(h);
        /* Credited once the webhook is applied. */
        for (double end = now_s() + 30;; ) {
            long st = call(c, p % NODES, "GET", "/v1/wallet?consistency=linearizable", NULL, tok,
                           NULL, &out);
            int64_t bal = json_integer_value(json_object_get(out, "balance"));
            json_decref(out);
            if (st == 200 && bal == 100000000)
                break;
            if (now_s() > end) {
                fprintf(stderr, "holds_bench: deposit not credited\n");
                exit(1);
            }
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    curl_easy_cleanup(c);
}

struct worker {
    pthread_t th;
    int id, run;
    bool raw, batch;
    size_t pairs; /* batches: holds placed and resolved */
    double until;
    double *lat;
    size_t n, cap;
    unsigned errors;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    CURL *c = curl_easy_init();
    int node = w->id % NODES;
    const char *player = player_id[w->id % PLAYERS];
    char body[256], path[160];
    for (unsigned k = 0; now_s() < w->until; k++) {
        double t0 = now_s();
        char hid[64];
        snprintf(hid, sizeof hid, "r%d-w%d-%u", w->run, w->id, k);
        if (w->batch) { /* one batch placing batch_n holds, one resolving them */
            size_t cap = (size_t)batch_n * 160 + 64, len = 0;
            char *bb = malloc(cap);
            len += (size_t)snprintf(bb + len, cap - len, "{\"items\":[");
            for (int j = 0; j < batch_n; j++)
                len += (size_t)snprintf(bb + len, cap - len,
                                        "%s{\"op\":\"place\",\"hold_id\":\"%s-%d\",\"player_id\":"
                                        "\"%s\",\"amount\":%u,\"timeout_ms\":600000}",
                                        j ? "," : "", hid, j, player_id[(w->id + j) % PLAYERS],
                                        1 + (k + (unsigned)j) % 100);
            snprintf(bb + len, cap - len, "]}");
            json_t *out = NULL;
            long st = sport_call_out(c, node, "/internal/v1/hold-batches", bb, &out);
            int placed = st == 200 ? batch_ok(out, 201) : 0;
            static int told;
            if ((st != 200 || placed < batch_n) && !__atomic_exchange_n(&told, 1, __ATOMIC_SEQ_CST)) {
                char *t = out ? json_dumps(out, JSON_COMPACT) : NULL;
                fprintf(stderr, "holds_bench: a batch answered %ld: %.400s\n", st, t ? t : "");
                free(t);
            }
            json_decref(out);
            len = (size_t)snprintf(bb, cap, "{\"items\":[");
            for (int j = 0; j < batch_n; j++)
                len += (size_t)snprintf(bb + len, cap - len,
                                        j % 2 ? "%s{\"op\":\"void\",\"hold_id\":\"%s-%d\"}"
                                              : "%s{\"op\":\"post\",\"hold_id\":\"%s-%d\","
                                                "\"stake\":%u,\"payout\":0}",
                                        j ? "," : "", hid, j, 1 + (k + (unsigned)j) % 100);
            snprintf(bb + len, cap - len, "]}");
            out = NULL;
            st = st == 200 ? sport_call_out(c, node, "/internal/v1/hold-batches", bb, &out) : st;
            int resolved = st == 200 ? batch_ok(out, 200) : 0;
            json_decref(out);
            free(bb);
            w->errors += (unsigned)(2 * batch_n - placed - resolved);
            w->pairs += (size_t)resolved;
            if (w->n == w->cap) {
                w->cap = w->cap ? w->cap * 2 : 4096;
                w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
            }
            w->lat[w->n++] = now_s() - t0;
            continue;
        }
        if (w->raw) { /* one committed write through the same write path: a limit, lowered */
            snprintf(body, sizeof body, "{\"auto_withdraw\":%u}", 1000000 - k % 1000);
            long st = call(c, node, "POST", "/v1/wallet/limits", body, player_tok[w->id % PLAYERS],
                           hid, NULL);
            if (st != 200)
                w->errors++;
            else {
                if (w->n == w->cap) {
                    w->cap = w->cap ? w->cap * 2 : 4096;
                    w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
                }
                w->lat[w->n++] = now_s() - t0;
            }
            continue;
        }
        snprintf(body, sizeof body,
                 "{\"hold_id\":\"%s\",\"player_id\":\"%s\",\"amount\":%u,\"timeout_ms\":600000}",
                 hid, player, 1 + k % 100);
        long st = sport_call(c, node, "/internal/v1/holds", body);
        if (st == 201) {
            bool post = k % 2 == 0;
            snprintf(path, sizeof path, "/internal/v1/holds/%s/%s", hid, post ? "post" : "void");
            if (post)
                snprintf(body, sizeof body, "{\"stake\":%u,\"payout\":0}", 1 + k % 100);
            st = sport_call(c, node, path, post ? body : "");
        }
        if (st != 200) {
            w->errors++;
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 4096;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
        }
        w->lat[w->n++] = now_s() - t0;
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: holds_bench TOKEN_FILE PAY_URL SECONDS CLIENTS...\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f || !fgets(token, sizeof token, f))
        return 2;
    fclose(f);
    token[strcspn(token, "\r\n")] = 0;
    snprintf(pay_url, sizeof pay_url, "%s", argv[2]);
    double secs = atof(argv[3]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sign_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    const char *bn = getenv("HOLDS_BATCH");
    if (bn && atoi(bn) > 0 && atoi(bn) <= 512)
        batch_n = atoi(bn);
    setup();
    /* The batched pass's clients: each is a sport leader with one batch in flight (1 and 4 by
     * default, HOLDS_BATCH_CLIENTS="1 4"); 64 of them would be 64 sport clusters. */
    int bcl[8], nb = 0;
    char bc[64];
    snprintf(bc, sizeof bc, "%s", getenv("HOLDS_BATCH_CLIENTS") ? getenv("HOLDS_BATCH_CLIENTS") : "1 4");
    for (char *save = NULL, *t = strtok_r(bc, " ,", &save); t && nb < 8; t = strtok_r(NULL, " ,", &save))
        if (atoi(t) > 0)
            bcl[nb++] = atoi(t);
    for (int pass = 0; pass < 3; pass++)
        for (int a = 4; a < (pass == 2 ? 4 + nb : argc); a++) {
            int n = pass == 2 ? bcl[a - 4] : atoi(argv[a]);
            struct worker *ws = calloc((size_t)n, sizeof *ws);
            double start = now_s();
            for (int i = 0; i < n; i++) {
                ws[i] = (struct worker){.id = i, .run = a + 100 * pass, .raw = pass == 0,
                                        .batch = pass == 2, .until = start + secs};
                pthread_create(&ws[i].th, NULL, work, &ws[i]);
            }
            size_t total = 0, pairs = 0;
            unsigned errors = 0;
            for (int i = 0; i < n; i++) {
                pthread_join(ws[i].th, NULL);
                total += ws[i].n;
                pairs += ws[i].pairs;
                errors += ws[i].errors;
            }
            double elapsed = now_s() - start;
            double *all = malloc((total ? total : 1) * sizeof *all);
            size_t k = 0;
            for (int i = 0; i < n; i++) {
                memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
                k += ws[i].n;
                free(ws[i].lat);
            }
            qsort(all, total, sizeof *all, cmp);
            char label[64];
            if (pass == 2)
                snprintf(label, sizeof label, "holds in batches of %d, %d client%s", batch_n, n,
                         n == 1 ? "" : "s");
            else
                snprintf(label, sizeof label, "%s, %d client%s",
                         pass ? "holds placed+resolved" : "raw committed writes", n,
                         n == 1 ? "" : "s");
            printf("%-36s %10.0f %10.2f %10.2f %8u\n", label,
                   (pass == 2 ? (double)pairs : (double)total) / elapsed,
                   total ? all[total / 2] * 1000 : 0, total ? all[total * 99 / 100] * 1000 : 0,
                   errors);
            fflush(stdout);
            free(all);
            free(ws);
        }
    return 0;
}
