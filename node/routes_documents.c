/* The document-check provider: start a check for a signed-in player, and take the provider's
 * signed decisions (webhooks). */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/accounts_common.h"
#include "node/auth.h"
#include "common/log.h"
#include "node/routes.h"

/* ---- document-check provider ---- */

struct doc_job {
    uv_work_t work;
    struct http_req *r;
    char player_id[ACCOUNTS_ID_CHARS + 1];
    char idem[256];
    char callback[256];
    char *session_id, *url;
    int rv;
    kyc_err err;
};

static bool doc_configured(struct http_req *r)
{
    if (r->node->accounts->doc)
        return true;
    http_problem(r, 404, "Document checks not configured",
                 "this cluster has no 'document_check' provider");
    return false;
}

static void doc_work(uv_work_t *w)
{
    struct doc_job *j = w->data;
    j->rv = kyc_doc_session_start(j->r->node->accounts->doc, j->player_id, j->callback, 10000,
                                  &j->session_id, &j->url, &j->err);
}

static void doc_started(uv_work_t *w, int status)
{
    struct doc_job *j = w->data;
    struct http_req *r = j->r;
    if (status != 0 || j->rv != KYC_OK) {
        http_header(r, "retry-after", "5");
        http_problem(r, 502, "Document-check provider unavailable", "%s",
                     status ? "cancelled" : j->err.msg);
    } else {
        acc_submit(r, CMD_DOC_SESSION,
                   json_pack("{s:s, s:s, s:s, s:s}", "player_id", j->player_id, "provider",
                             kyc_doc_provider_name(r->node->accounts->doc), "session_id",
                             j->session_id, "url", j->url),
                   j->idem, "doc-session", j->player_id);
    }
    free(j->session_id);
    free(j->url);
    free(j);
}

/* POST /v1/players/me/kyc/document: a hosted session at the provider, whose webhooks come
 * back to this node's /v1/kyc/webhooks/<provider>. */
void acc_do_doc_start(struct http_req *r)
{
    if (!doc_configured(r))
        return;
    struct doc_job *j = calloc(1, sizeof *j);
    if (!acc_player_job(r, j->player_id, j->idem)) {
        free(j);
        return;
    }
    j->r = r;
    snprintf(j->callback, sizeof j->callback, "%s://%s/v1/kyc/webhooks/%s",
             node_scheme(r->node), r->node->cfg.http_address, kyc_doc_provider_name(r->node->accounts->doc));
    acc_work(r, &j->work, j, doc_work, doc_started);
}

/* POST /v1/kyc/webhooks/<provider>: verified (signature over the raw body first, then
 * freshness) on this node, then recorded once per event id. */
void acc_do_doc_webhook(struct http_req *r, const char *name)
{
    if (!doc_configured(r))
        return;
    kyc_doc_provider *p = r->node->accounts->doc;
    if (strcmp(name, kyc_doc_provider_name(p)) != 0) {
        http_problem(r, 404, "Unknown provider", "no document-check provider named '%s'", name);
        return;
    }
    h2o_req_t *req = r->req;
    size_t n;
    kyc_header* hs = acc_headers(r, &n);
    kyc_doc_event ev;
    kyc_err err = {0};
    int rv = kyc_doc_webhook_verify(p, hs, n, req->entity.base ? req->entity.base : "",
                                    req->entity.len, acc_now_s(), &ev, &err);
    free(hs);
    if (rv != KYC_OK) {
        int st = rv == KYC_E_WH_SIGNATURE || rv == KYC_E_WH_STALE ? 401
                 : rv == KYC_E_WH_STATUS                          ? 422
                                                                  : 400;
        http_problem(r, st, "Webhook refused", "%s: %s", kyc_strerror(rv), err.msg);
        return;
    }
    char idem[256], both[300];
    snprintf(idem, sizeof idem, "doc:%s:%s", name, ev.event_id);
    snprintf(both, sizeof both, "%s %s", name, ev.event_id);
    acc_submit(
        r, CMD_DOC_EVENT,
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "provider", name, "event_id", ev.event_id,
                  "reference", ev.reference, "status", kyc_doc_status_name(ev.status), "raw_status",
                  ev.raw_status, "timestamp", (json_int_t)ev.timestamp),
        idem, "doc-event", both);
}

