/* Fixtures (games): the first replicated entity.
 *
 * A fixture is {id, sport, competition, home, away, kickoff, status}; the state machine adds
 * version, created_at and updated_at. Validation lives here and is used twice: by the HTTP
 * handler (to refuse bad input before anything is proposed) and by apply (so that a command
 * that slipped through is refused the same way on every node).
 *
 * Status transitions: scheduled -> live | postponed | cancelled; live -> finished | cancelled;
 * postponed -> scheduled | cancelled. finished and cancelled are final.
 */
#ifndef PARLAY_FIXTURES_H
#define PARLAY_FIXTURES_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fsm;

#define FIXTURE_ID_MAX 64

bool fixture_id_valid(const char *id, size_t len);
bool fixture_status_valid(const char *status);
bool fixture_transition_ok(const char *from, const char *to);

/* Parse an RFC 3339 timestamp ("2026-11-28T15:00:00Z", offsets allowed) to Unix seconds. */
int fixture_parse_time(const char *s, int64_t *out);

/* Check a create / update body; on failure return -1 with a precise @detail. @sport is the
 * cluster's sport (NULL: the cluster takes no fixtures). On success a create body is normalised
 * in place (kickoff in UTC "Z" form). */
int fixture_check_create(json_t *body, const char *sport, char *detail, size_t n);
int fixture_check_update(json_t *body, char *detail, size_t n);

/* Queries (read transaction from fsm_read_begin). */
json_t *fixture_get(struct fsm *f, MDB_txn *txn, const char *id);
/* Write the fixture record @fx (its "id" is the key) during apply: for the domains that create
 * or move fixtures (agreed observations, results). With @text_out, the record's text. */
int fixture_put(struct fsm *f, MDB_txn *txn, json_t *fx, char **text_out);

/* CMD_FIXTURE_CREATE / CMD_FIXTURE_UPDATE with the body checked (and normalised) by
 * fixture_check_create / fixture_check_update as payload (see cmd_fill). */
struct cmd;
char *fixtures_cmd_create(struct cmd *c, json_t *checked);
char *fixtures_cmd_update(struct cmd *c, json_t *checked);

struct fixture_filter {
    const char *sport, *competition, *status;
    int64_t from, to; /* kickoff bounds in Unix seconds; 0 = none */
    const char *after; /* paging cursor: ids strictly after this one */
    unsigned limit;
};
/* Returns {"items": [...], "next": cursor-or-null}. */
json_t *fixture_list(struct fsm *f, MDB_txn *txn, const struct fixture_filter *flt);

#endif
