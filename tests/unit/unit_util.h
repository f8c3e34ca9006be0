/* Helpers shared by the consensus unit tests: temporary directories, opening a state machine
 * without a loop, building encoded commands, capturing results and dumping the replicated state
 * in a form that can be compared byte for byte. */
#ifndef PARLAY_TESTS_UNIT_UTIL_H
#define PARLAY_TESTS_UNIT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/codec.h"
#include "consensus/fsm.h"
#include "feed/feed.h"

/* Quiet logging unless PARLAY_TEST_LOG is set (some tests provoke logged errors on purpose). */
void util_log_init(void);

/* A fresh directory under $TMPDIR (or /tmp); the caller frees the string. */
char* util_tmpdir(void);
/* Remove @dir and everything in it, then free the string. */
void util_rmdir(char* dir);

/* Open a football state machine in @dir with no loop (the caller flushes). */
struct fsm* util_fsm_open(const char* dir);
/* The same with a given LMDB map size in bytes. */
struct fsm* util_fsm_open_size(const char* dir, size_t map_size);

/* Encode a command into a raft_malloc'd buffer (release with raft_free). @idem may be NULL;
 * the fingerprint is 32 bytes of @fp. */
void* util_cmd(uint16_t type,
               const char* idem,
               uint8_t fp,
               uint64_t time_ms,
               const char* payload,
               size_t* len);

/* A fixture create payload (static buffer, overwritten by the next call). */
const char* util_fixture_json(const char* id, const char* competition, const char* kickoff);

/* The result of the last command applied by a state machine that was given
 * util_capture_results(). */
struct util_result
{
    uint64_t index;
    int status;
    char body[8192];
    unsigned calls;
};
void util_capture_results(struct fsm* f, struct util_result* r);

/* Apply a command at @index and return its status (the hook's), failing the test if apply
 * itself fails or no result is reported. The fsm must have been given util_capture_results. */
int util_apply(struct fsm* f,
               struct util_result* r,
               uint64_t index,
               uint16_t type,
               const char* idem,
               uint8_t fp,
               const char* payload);

/* The same, stamped with the leader's time @time_ms. */
int util_apply_at(struct fsm* f,
                  struct util_result* r,
                  uint64_t index,
                  uint16_t type,
                  const char* idem,
                  uint8_t fp,
                  const char* payload,
                  uint64_t time_ms);

/* Every fixture, in key order, as compact JSON with sorted keys (malloc'd). */
char* util_dump_fixtures(struct fsm* f);
/* One fixture as compact JSON with sorted keys (malloc'd), or NULL. */
char* util_get_fixture(struct fsm* f, const char* id);
/* Number of fixtures. */
unsigned util_count_fixtures(struct fsm* f);

/* Members' keys. The compressed public key of @sk as hex; @sk's compact signature of @digest
 * as hex; a CMD_MEMBER_KEY payload registering @sk's key for member @id with its proof (and,
 * unless @old_sk is NULL, the old key's signature of the change), over the empty cluster name
 * util_fsm_open uses (static buffer, overwritten by the next call). */
void util_pub_hex(const uint8_t sk[32], char out[67]);
void util_sign_hex(const uint8_t sk[32], const uint8_t digest[32], char out[129]);
const char* util_member_key_payload(uint64_t id, const uint8_t sk[32], const uint8_t* old_sk);

/* Agreed observations. A fixture observation (competition "Premier League"); the
 * CMD_OBSERVATION_AGREED payload of @o signed by members 1 and 2 with @sk1 and @sk2 (malloc'd). */
struct feed_obs util_fixture_obs(const char* id,
                                 enum feed_sport sport,
                                 const char* home,
                                 const char* away,
                                 int64_t kickoff);
char* util_agreed_payload(const struct feed_obs* o, const uint8_t sk1[32], const uint8_t sk2[32]);

#endif
