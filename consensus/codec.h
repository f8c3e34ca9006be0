/* Command encoding: what travels in a Raft log entry.
 *
 * An entry is a fixed header, the idempotency key, the request fingerprint and a JSON payload,
 * padded with zeros to a multiple of 8 bytes (raft_uv requires entry buffers of that size; the
 * real length is inside the header). Every field is little-endian. The format is versioned:
 * a node refuses to decode a version it does not know rather than guess.
 *
 *   0  u32 magic "PRLY"         8  u32 length (unpadded)     16 u64 time_ms (leader's clock)
 *   4  u16 version              12 u16 idem_len, u16 0       24 u8[32] fingerprint
 *   6  u16 type                 56 u32 payload_len, u32 0    64 idem bytes, payload bytes, pad
 *
 * A batch (type CMD_BATCH) is one Raft entry holding several commands proposed during the same
 * loop iteration. Its header is the same (version 1, no idempotency key, zero fingerprint); its
 * payload is binary, not JSON:
 *
 *   u32 count (1..CMD_BATCH_MAX), u32 0, then count times: u32 len, u32 0, len bytes
 *
 * where the len bytes are one command encoded as above (padded, so len is a multiple of 8). A
 * batch never holds a batch nor a command whose apply depends on its own log index
 * (cmd_batchable). Any fault anywhere in a batch refuses the whole batch (cmd_batch_check).
 */
#ifndef PARLAY_CODEC_H
#define PARLAY_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CMD_MAGIC 0x594c5250u /* "PRLY" little-endian */
#define CMD_VERSION 1
#define CMD_HEADER_SIZE 64
#define CMD_IDEM_MAX 255
#define CMD_PAYLOAD_MAX (1u << 20)

/* The numbers every command type travels under: they are in Raft logs and snapshots on disk, so
 * a number is never reused nor changed. Only the numbers live here; what each type is (name,
 * batchable, apply, payload builder) is its row in its domain's table (cmdtable.h). */
enum cmd_type {
    CMD_FIXTURE_CREATE = 1,
    CMD_FIXTURE_UPDATE = 2,
    CMD_MEMBER_SET = 3,
    CMD_PLAYER_REGISTER = 4,     /* accounts.c: {id, email, password_hash} */
    CMD_LOGIN_FAILED = 5,        /* {player_id} */
    CMD_SESSION_CREATE = 6,      /* {player_id, family, refresh_hash} */
    CMD_SESSION_REFRESH = 7,     /* {family, presented_hash, new_hash} */
    CMD_SESSION_REVOKE = 8,      /* {player_id, family} */
    CMD_SESSION_REVOKE_ALL = 9,  /* {player_id} */
    CMD_SIGNING_KEY_ADD = 10,    /* {kid, jwk, if_none?} */
    CMD_TOTP_ENROL = 11,         /* {player_id, secret, uri} */
    CMD_TOTP_CONFIRM = 12,       /* {player_id, step, recovery_hashes[]} */
    CMD_FC_START = 13,           /* {player_id, state, nonce, authorize_url} */
    CMD_FC_LINK = 14,            /* {player_id, state, adult, idkey, identity{...}} */
    CMD_DOC_SESSION = 15,        /* {player_id, provider, session_id} */
    CMD_DOC_EVENT = 16,          /* {provider, event_id, reference, status, raw_status, ts} */
    CMD_KYC_OVERRIDE = 17,       /* {player_id, status, reason} (an operator's decision) */
    CMD_IDEM_EXPIRE = 18,        /* {before_ms}: forget idempotency records older than that */
    CMD_MEMBER_KEY = 19,         /* {id, public_key}: a member's secp256k1 key (observations.c) */
    CMD_OBSERVATION_AGREED = 20, /* {subject, bytes, signatures[]}: a quorum's observation */
    CMD_QUOTE_ROUND = 21,        /* {fixture}: every node prices it at this index (quotes.c) */
    CMD_QUOTE_PUBLISHED = 22,    /* {fixture, index, prices, signatures[]}: a quorum's prices */
    CMD_MARKETS_SUSPEND = 23,    /* {fixture, reason, subject?, node?}: a dangerous event */
    CMD_WALLET_LIMITS = 24,      /* wallet.c: {player_id, deposit_7d?, stake_7d?, auto_withdraw?} */
    CMD_WALLET_EXCLUDE = 25,     /* {player_id, hours} */
    CMD_WALLET_BLOCK = 26,       /* {player_id, blocked, reason} (an operator's) */
    CMD_DEPOSIT_OPEN = 27,       /* {player_id, deposit_id, amount} */
    CMD_DEPOSIT_LINK = 28,       /* {deposit_id, payment_id, url} */
    CMD_PAY_EVENT = 29,          /* {provider, event_id, kind, object_id, reference, amount} */
    CMD_WITHDRAW_OPEN = 30,      /* {player_id, withdrawal_id, amount} */
    CMD_WITHDRAW_SENT = 31,      /* {withdrawal_id, payout_id} */
    CMD_HOLD_PLACE = 32,         /* {hold_id, player_id, cluster, amount, timeout_ms} */
    CMD_HOLD_POST = 33,          /* {hold_id, cluster, stake, payout} */
    CMD_HOLD_VOID = 34,          /* {hold_id, cluster} */
    CMD_HOLD_EXPIRE = 35,        /* {}: holds due at the leader's stamped time expire */
    CMD_WALLET_CORRECT = 36,     /* {id, debit, credit, amount, corrects, reason} */
    CMD_WALLET_CLUSTER = 37,     /* {name, keys[]}: a sport cluster allowed to place holds */
    CMD_WALLET_BAN = 38,         /* {player_id, banned, source}: the national ban list's verdict */
    CMD_WALLET_CLOSE = 39,       /* {}: provisional accounts due are closed at the leader's time */
    CMD_ORACLE_SIGNED = 40,      /* oracle_state.c: {fixture, match_id, status, home, away,
                                    chain_id, contract, signatures[]}: a quorum's EIP-712
                                    signatures of an agreed result */
    CMD_ORACLE_TX = 41,          /* {record}: the transaction journal, before broadcast */
    CMD_ORACLE_DONE = 42,        /* {fixture, outcome, tx_hash?, block?, gas_used?, reason?} */
    /* 43: reserved (oracle). */
    CMD_BET_PLACE = 44,          /* bets.c: {player_id, stake, policy, tolerance?, legs[], node} */
    CMD_BET_LIMITS = 45,         /* {min_stake?, max_stake?, max_payout?, outcome_cap?, ...} */
    CMD_BET_HOLD_DONE = 46,      /* {bet_id, accepted, code?, detail?}: the hold's answer */
    CMD_BET_PAID = 47,           /* {bet_id, how: post|void}: a settled bet's money moved */
    CMD_BET_DECIDE = 48,         /* {bet_id}: the leader decides a bet after its delay */
    CMD_BET_HOLD_VOIDED = 49,    /* {bet_id}: a rejected bet's hold was voided */
    CMD_BET_SWITCH = 50,         /* {scope: all|live|fixture, fixture?, open}: betting switches */
    CMD_BET_VOID = 51,           /* {bet_id, reason}: an operator voids an accepted bet */
    CMD_SECRETS_RESEAL = 52,     /* accounts.c: {items[{table, id, field, old, new}]} */
    CMD_OPERATOR_ADD = 53,       /* operators.c: {id, name, email, password_hash, scopes[]} */
    CMD_OPERATOR_SET = 54,       /* {id, disabled?, scopes?, totp_secret?, totp_confirmed?,
                                    totp_step?} */
    CMD_MTOKEN_SET = 55,         /* {id, name, scopes[], expires_ms, hash, created_by} or
                                    {id, revoked: true}: a machine token */
    CMD_ADMIN = 56,              /* operators.c: an admin's command with who asked, applied
                                    with its audit record (operators_admin_wrap) */
    CMD_BET_SETTLE_MORE = 57,    /* bets_settle.c: {fixture}: settle the next chunk of its bets */
    /* 58, 59: reserved (other branches). */
    CMD_HOLD_BATCH = 60,         /* wallet_holds.c: {cluster, items[{op: place|post|void, ...}]} */
    CMD_BET_HOLDS_DONE = 61,     /* bets_place.c: {items[{op: hold|paid|voided, bet_id, ...}]}:
                                    the accounts cluster's answers for many bets */
    CMD_BET_RESETTLE = 65,       /* bets_resettle.c: {fixture, home, away, reason}: re-settle */
    CMD_HOLD_RESETTLE = 66,      /* wallet_resettle.c: {hold_id, cluster, generation, stake,
                                    payout, reason}: a bet's hold settled again (corrections) */
    CMD_BET_POSTPONED = 67,      /* bets_resettle.c: {fixture}: void a postponed fixture's bets
                                    48 h after its original kick-off (the leader's stamp) */
    CMD_BET_ABANDONED = 68,      /* bets_markets.c: {fixture, reason}: an operator abandons a live
                                    fixture: decided markets stand, the others are void */
    CMD_BET_CASHOUT_SET = 70,    /* bets_cashout.c: {enabled?, margin_bp?, validity_ms?} */
    CMD_BET_CASHOUT = 71,        /* {bet_id, player_id, amount, versions[], expires_ms} */
    /* 72: trader.c: {fixture, market?, margin_shift_bp?, lean?{outcome, bp}, suspended?,
       max_stake?, reason, by?}; 73, 74: reserved (trader). */
    CMD_TRADER_SET = 72,
    /* 100: accounts_password.c: {player_id, session_id, old_hash, password_hash, totp_step? |
       recovery_hash?}: a player's new password; 101: reserved (password). */
    CMD_PASSWORD_CHANGE = 100,
    CMD_TYPE_MAX = 100,
    /* Not a domain command: an envelope of several commands (see above). Numbered apart from
     * the domain types so that new domain types keep taking CMD_TYPE_MAX + 1. */
    CMD_BATCH = 64,
};

#define CMD_BATCH_MAX 256           /* commands in one batch */
#define CMD_BATCH_HEADER 8          /* u32 count, u32 0 */
#define CMD_BATCH_ITEM_HEADER 8     /* u32 len, u32 0 */
#define CMD_BATCH_BYTES CMD_PAYLOAD_MAX /* the batch's payload, headers included */

struct cmd {
    uint16_t type;
    uint64_t time_ms;
    const char *idem; /* not NUL-terminated; idem_len may be 0 */
    size_t idem_len;
    uint8_t fingerprint[32];
    const char *payload; /* JSON text, not NUL-terminated */
    size_t payload_len;
    /* The payload already parsed, or NULL (cmd_decode): a command that runs another (CMD_ADMIN)
     * parses the inner payload once and hands it over; store_payload uses it. */
    struct json_t *parsed;
};

enum {
    CMD_OK = 0,
    CMD_ESHORT = -1,   /* buffer shorter than the header or its declared length */
    CMD_EMAGIC = -2,   /* not a Parlay command */
    CMD_EVERSION = -3, /* a version this node does not know */
    CMD_ETYPE = -4,    /* unknown command type */
    CMD_ELENGTH = -5,  /* declared lengths inconsistent or over the limits */
    CMD_EPAD = -6,     /* reserved or padding bytes not zero */
    CMD_ENOMEM = -7,
};

const char *cmd_strerror(int rv);

/* Make @c a command of @type whose payload is @payload as compact JSON with sorted keys (the
 * domains' builders use it). Returns the text @c points to, which the caller frees after
 * proposing; NULL if out of memory (then @c has no payload). */
struct json_t;
char *cmd_fill(struct cmd *c, uint16_t type, struct json_t *payload);
/* The type's name from the table ("batch", or "unknown" for a type no domain declares). */
const char *cmd_type_name(unsigned type);

/* Size of the padded encoding of @c. */
size_t cmd_encoded_size(const struct cmd *c);

/* Encode @c into @buf (at least cmd_encoded_size bytes, zeroed padding written). */
int cmd_encode(const struct cmd *c, void *buf, size_t size);

/* Decode @buf; on success @c points into @buf. A batch decodes as one command of type
 * CMD_BATCH whose sub-commands are not looked at: see cmd_batch_check. */
int cmd_decode(const void *buf, size_t size, struct cmd *c);

/* Batches. Whether @type may travel inside a batch: its table row says so (a command that
 * records the index of the entry applying it may not: quote rounds, publications, suspensions,
 * agreed observations), since every command of a batch shares one index. */
int cmd_batchable(unsigned type);

/* Bytes @c takes inside a batch's payload (item header + padded encoding). */
size_t cmd_batch_item_size(const struct cmd *c);

/* Write @c as a batch item at @at (@room bytes available). */
int cmd_batch_put_item(void *at, size_t room, const struct cmd *c);

/* Write the batch payload's header (@count items) at the start of @payload. */
void cmd_batch_put_header(void *payload, unsigned count);

/* Encode @n commands as one batch entry into a malloc'd buffer (tests and tools; the
 * replica builds its batches item by item). */
int cmd_batch_encode(const struct cmd *subs, unsigned n, uint64_t time_ms, void **buf,
                     size_t *len);

/* Check a decoded CMD_BATCH completely: header fields, item framing, every sub-command decodes
 * and is batchable. On CMD_OK, @count is the number of sub-commands. */
int cmd_batch_check(const struct cmd *batch, unsigned *count);

/* Sub-command at byte offset *@off of a checked batch's payload (start with *@off = 0), then
 * advance *@off. */
int cmd_batch_next(const struct cmd *batch, size_t *off, struct cmd *sub);

#endif
