/* oracle: Parlay's Ethereum side. Everything a caller may use is declared here.
 *
 *   eth_*     building blocks: Keccak-256, RLP, ABI words, keys and signatures, EIP-712,
 *             EIP-1559 / EIP-155 transactions, a JSON-RPC client over libcurl.
 *   oracle_*  the MatchOracle contract: result digests, calls, the transaction manager with its
 *             journal, the result submitter and the `parlayctl oracle` command line.
 *
 * Errors are negative integers (ETH_E*) named by eth_strerror(); functions that talk to a node
 * also fill an eth_error with the node's own words when there are any. No global error state.
 * No key material is ever logged or put in an error message. */
#ifndef PARLAY_ORACLE_H
#define PARLAY_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ errors */

enum {
    ETH_OK = 0,
    ETH_EINVAL = -1,        /* bad argument or malformed input */
    ETH_ENOMEM = -2,        /* out of memory */
    ETH_EIO = -3,           /* the node cannot be reached (after retries) */
    ETH_ERPC = -4,          /* the node answered with a JSON-RPC error we do not classify */
    ETH_EREVERT = -5,       /* the call or transaction reverted (reason in eth_error) */
    ETH_EFUNDS = -6,        /* insufficient funds for gas * price + value */
    ETH_ETIMEOUT = -7,      /* waited long enough; the transaction stays in the journal */
    ETH_EKEY = -8,          /* key file missing, malformed, or readable by others */
    ETH_ENOTFOUND = -9,     /* no such record / receipt / file */
    ETH_EALREADY = -10,     /* the result is already on chain: nothing was sent */
    ETH_ERATELIMIT = -11,   /* rate limited even after backing off */
    ETH_EJOURNAL = -12,     /* the journal could not record the transaction: nothing was sent */
    ETH_ENONCE = -13,       /* nonce too low (already used on chain) */
    ETH_EUNDERPRICED = -14, /* replacement or transaction underpriced */
    ETH_ECHAIN = -15,       /* chain id of the node differs from the configured one */
    ETH_EPROTO = -16,       /* the node's answer is not what the protocol says */
};
const char* eth_strerror(int err);

/* Details of the last failure of one call: code and message from the node, revert data and
 * its decoded reason when the ABI of the contract is known. */
typedef struct eth_error
{
    int http_status;
    long code;         /* JSON-RPC error code (0 when none) */
    char message[256]; /* the node's message or our own explanation */
    char reason[256];  /* decoded revert reason, e.g. "AlreadyReported(7)" */
    uint8_t data[256]; /* revert data (truncated) */
    size_t data_len;
} eth_error;

/* ------------------------------------------------------------------ bytes */

typedef struct eth_buf
{
    uint8_t* p;
    size_t len, cap;
    int oom; /* sticky: set when an append failed; every later append is a no-op */
} eth_buf;

void eth_buf_init(eth_buf* b);
void eth_buf_free(eth_buf* b);
void eth_buf_reset(eth_buf* b);
void eth_buf_append(eth_buf* b, const void* p, size_t n);
void eth_buf_byte(eth_buf* b, uint8_t c);

/* Hex: "0x" prefix optional on input, always written on output. */
int eth_hex_decode(const char* hex, uint8_t* out, size_t out_len); /* exact length */
int eth_hex_decode_buf(const char* hex, eth_buf* out);             /* any even length */
char* eth_hex_encode(const uint8_t* p, size_t n);                  /* malloc'd "0x..." */
void eth_hex_write(const uint8_t* p, size_t n, char* out);         /* out: 2n+3 bytes */
int eth_hex_u64(const char* hex, uint64_t* out);                   /* JSON-RPC quantity */

/* ------------------------------------------------------------------ hashing, RLP, ABI */

void eth_keccak256(const void* data, size_t len, uint8_t out[32]);

/* RLP (Yellow Paper, appendix B). Integers are big-endian without leading zeros. */
void eth_rlp_bytes(eth_buf* out, const uint8_t* p, size_t n);
void eth_rlp_u64(eth_buf* out, uint64_t v);
void eth_rlp_uint_be(eth_buf* out, const uint8_t* be, size_t n);   /* strips leading zeros */
void eth_rlp_list(eth_buf* out, const uint8_t* payload, size_t n); /* wraps encoded items */

/* ABI head words (32 bytes, big-endian) and 4-byte selectors. */
void eth_abi_u64(eth_buf* out, uint64_t v);
void eth_abi_address(eth_buf* out, const uint8_t addr[20]);
void eth_abi_word(eth_buf* out, const uint8_t w[32]);
void eth_abi_selector(const char* signature, uint8_t out[4]);
uint64_t eth_abi_read_u64(const uint8_t* word); /* low 8 bytes of a word */
int eth_abi_word_fits_u64(const uint8_t* word);

/* Turns revert data into a readable reason: Error(string), Panic(uint256), or a custom error
 * named in the ABI JSON `abi_json` (may be NULL). Writes at most out_len bytes. */
void eth_abi_decode_revert(const char* abi_json,
                           const uint8_t* data,
                           size_t n,
                           char* out,
                           size_t out_len);

/* ------------------------------------------------------------------ keys and signatures */

typedef struct eth_key
{
    uint8_t secret[32];
    uint8_t address[20];
} eth_key;

int eth_key_from_secret(eth_key* k, const uint8_t secret[32]);
int eth_key_from_hex(eth_key* k, const char* hex);
/* Reads a key file (64 hex digits, "0x" optional, surrounding blanks ignored). Refuses a file
 * that is not a regular file of mode 0600 or stricter (ETH_EKEY, reason in err). */
int eth_key_load_file(eth_key* k, const char* path, eth_error* err);
/* Writes a fresh random key to `path` with mode 0600 (fails if the file exists). */
int eth_key_generate_file(eth_key* k, const char* path);
void eth_key_wipe(eth_key* k);

/* Signs a 32-byte digest: out = r || s || v with v = 27 + recovery id (ecrecover form), low-s. */
int eth_sign_digest(const eth_key* k, const uint8_t digest[32], uint8_t out[65]);
/* Signs and returns the recovery id (0/1) instead of v. */
int eth_sign_recoverable(const eth_key* k, const uint8_t digest[32], uint8_t rs[64], int* recid);
/* Recovers the signer of r||s||v (v 27/28 or 0/1). */
int eth_recover(const uint8_t digest[32], const uint8_t sig[65], uint8_t address[20]);
int eth_sig_is_low_s(const uint8_t sig[65]);
void eth_address_from_pubkey(const uint8_t xy[64], uint8_t address[20]);
void eth_address_checksum(const uint8_t address[20], char out[43]); /* EIP-55 */
int eth_address_parse(const char* s, uint8_t address[20]);
void eth_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20]);

/* ------------------------------------------------------------------ EIP-712 */

void eth_eip712_domain(const char* name,
                       const char* version,
                       uint64_t chain_id,
                       const uint8_t contract[20],
                       uint8_t out[32]);
void eth_eip712_digest(const uint8_t domain_separator[32],
                       const uint8_t struct_hash[32],
                       uint8_t out[32]);

/* ------------------------------------------------------------------ transactions */

enum { ETH_TX_LEGACY = 0, ETH_TX_1559 = 2 };

typedef struct eth_tx
{
    int type; /* ETH_TX_1559, or ETH_TX_LEGACY with EIP-155 replay protection */
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t max_priority_fee; /* type 2 only */
    uint64_t max_fee;          /* type 2: max fee per gas; legacy: gas price */
    uint64_t gas_limit;
    int has_to; /* 0: contract creation */
    uint8_t to[20];
    uint64_t value; /* wei; we never send more than 18 ETH */
    const uint8_t* data;
    size_t data_len;
} eth_tx;

int eth_tx_signing_hash(const eth_tx* tx, uint8_t out[32]);
/* Signs `tx`; raw receives the bytes for eth_sendRawTransaction, hash the transaction hash. */
int eth_tx_sign(const eth_tx* tx, const eth_key* k, eth_buf* raw, uint8_t hash[32]);
/* The smallest fee a replacement may carry: ceil(old * (100 + percent) / 100), and at least
 * old + 1. Used for both max fee and tip. */
uint64_t eth_fee_bump(uint64_t old, unsigned percent);

/* ------------------------------------------------------------------ JSON-RPC */

typedef struct eth_rpc eth_rpc;

typedef struct eth_rpc_config
{
    const char* url;     /* e.g. http://127.0.0.1:8545 or an Infura endpoint */
    const char* api_key; /* optional; appended as the last path segment (Infura style) */
    long timeout_ms;     /* per HTTP request; default 10000 */
    int max_attempts;    /* tries for transport errors and rate limits; default 4 */
    long backoff_ms;     /* first back-off, doubled each time; default 250 */
    long max_backoff_ms; /* cap on one back-off (also on a node's backoff_seconds); default 30000 */
} eth_rpc_config;

eth_rpc* eth_rpc_new(const eth_rpc_config* cfg);
void eth_rpc_free(eth_rpc* rpc);
/* How the call loop reads one JSON-RPC answer (pure: no I/O, no sleeping): @body (@len bytes,
 * read up to the first NUL; NULL when it did not fit in memory) with its HTTP status. Returns
 * ETH_OK with a new reference to the answer's "result" in *result (JSON null included), or an
 * ETH_E* code with *result NULL and err filled (http_status, the node's code, message and revert
 * data; our own sentence naming @display, the node's URL without its key, and @attempt for a
 * rate limit). *retry: whether to ask again (rate limited, HTTP 5xx, 429); *wait_ms: the wait
 * the node asked for (data.backoff_seconds, within a day), -1 when it asked none. */
struct json_t;
int eth_rpc_answer_read(const char* body,
                        size_t len,
                        long http,
                        const char* display,
                        int attempt,
                        struct json_t** result,
                        eth_error* err,
                        int* retry,
                        long* wait_ms);
/* Raw call. `params` is a JSON array text. On success *result_json is the malloc'd JSON text of
 * "result" (e.g. "\"0x1\"" or "null"). */
int eth_rpc_call(eth_rpc* rpc,
                 const char* method,
                 const char* params,
                 char** result_json,
                 eth_error* err);

int eth_rpc_chain_id(eth_rpc* rpc, uint64_t* out, eth_error* err);
int eth_rpc_block_number(eth_rpc* rpc, uint64_t* out, eth_error* err);
/* tag: "latest", "pending", "safe", "finalized" or a number. hash may be NULL. */
int eth_rpc_block(eth_rpc* rpc,
                  const char* tag,
                  uint64_t* number,
                  uint8_t hash[32],
                  uint64_t* base_fee,
                  int* has_base_fee,
                  eth_error* err);
int eth_rpc_nonce(eth_rpc* rpc,
                  const uint8_t addr[20],
                  const char* tag,
                  uint64_t* out,
                  eth_error* err);
int eth_rpc_gas_price(eth_rpc* rpc, uint64_t* out, eth_error* err);
/* Suggests fees: tip from eth_maxPriorityFeePerGas (1 gwei if missing), base fee of the next
 * block from eth_feeHistory; max_fee = 2 * base + tip. *eip1559 = 0 when the chain has no
 * base fee (then max_fee is eth_gasPrice and tip is 0). */
int eth_rpc_suggest_fees(eth_rpc* rpc,
                         uint64_t* max_fee,
                         uint64_t* tip,
                         int* eip1559,
                         eth_error* err);
/* from may be NULL; to NULL means contract creation. A revert returns ETH_EREVERT with the
 * revert data in err. */
int eth_rpc_estimate_gas(eth_rpc* rpc,
                         const uint8_t* from,
                         const uint8_t* to,
                         const uint8_t* data,
                         size_t n,
                         uint64_t* gas,
                         eth_error* err);
int eth_rpc_call_contract(eth_rpc* rpc,
                          const uint8_t to[20],
                          const uint8_t* data,
                          size_t n,
                          eth_buf* out,
                          eth_error* err);
/* "already known" counts as success; "nonce too low" is ETH_ENONCE; funds ETH_EFUNDS. */
int eth_rpc_send_raw(eth_rpc* rpc, const uint8_t* raw, size_t n, uint8_t hash[32], eth_error* err);

typedef struct eth_receipt
{
    int found;
    int status; /* 1 success, 0 reverted */
    uint64_t block_number;
    uint8_t block_hash[32];
    uint64_t gas_used;
    uint64_t effective_gas_price;
    int has_contract;
    uint8_t contract[20];
} eth_receipt;
int eth_rpc_receipt(eth_rpc* rpc, const uint8_t hash[32], eth_receipt* r, eth_error* err);

/* ------------------------------------------------------------------ the MatchOracle contract */

enum { ORACLE_STATUS_NONE = 0, ORACLE_STATUS_FINAL = 1, ORACLE_STATUS_VOID = 2 };

typedef struct oracle_result
{
    uint64_t match_id;
    uint8_t status; /* ORACLE_STATUS_FINAL with a score, or ORACLE_STATUS_VOID (score 0-0) */
    uint16_t home, away;
} oracle_result;

#define ORACLE_EIP712_NAME "Parlay MatchOracle"
#define ORACLE_EIP712_VERSION "1"
#define ORACLE_RESULT_TYPE "Result(uint256 matchId,uint8 status,uint16 home,uint16 away)"

/* What each node signs: the EIP-712 digest of `res` for this chain and contract. */
void oracle_result_digest(uint64_t chain_id,
                          const uint8_t contract[20],
                          const oracle_result* res,
                          uint8_t out[32]);
int oracle_sign_result(const eth_key* node_key,
                       uint64_t chain_id,
                       const uint8_t contract[20],
                       const oracle_result* res,
                       uint8_t sig[65]);

/* Calldata builders (selectors computed from the signatures). */
int oracle_calldata_submit(const oracle_result* res,
                           const uint8_t (*sigs)[65],
                           size_t nsigs,
                           eth_buf* out);
int oracle_calldata_set_signers(const uint8_t (*signers)[20],
                                size_t n,
                                unsigned threshold,
                                eth_buf* out);
/* bytecode || abi.encode(signers, threshold) */
int oracle_deploy_code(const uint8_t* bytecode,
                       size_t n,
                       const uint8_t (*signers)[20],
                       size_t nsigners,
                       unsigned threshold,
                       eth_buf* out);

/* Compiled artefacts: <dir>/MatchOracle.bin and MatchOracle.abi (written by the build). dir
 * NULL: $PARLAY_ORACLE_ARTEFACTS, else "build/contracts". */
typedef struct oracle_artefact
{
    eth_buf bytecode;
    char* abi_json;
} oracle_artefact;
int oracle_artefact_load(oracle_artefact* a, const char* dir, eth_error* err);
void oracle_artefact_free(oracle_artefact* a);

/* Views. *present = 0 when the match has no result. */
int oracle_read_result(eth_rpc* rpc,
                       const uint8_t contract[20],
                       uint64_t match_id,
                       oracle_result* out,
                       int* present,
                       eth_error* err);
int oracle_read_signers(eth_rpc* rpc,
                        const uint8_t contract[20],
                        uint8_t (**signers)[20],
                        size_t* n,
                        unsigned* threshold,
                        eth_error* err);

/* ------------------------------------------------------------------ journal */

enum {
    ORACLE_TX_NEW = 0,        /* recorded, not yet accepted by a node */
    ORACLE_TX_SENT = 1,       /* accepted by a node, no receipt yet */
    ORACLE_TX_MINED = 2,      /* receipt seen, fewer than `confirmations` blocks on top */
    ORACLE_TX_CONFIRMED = 3,  /* final for us: status 1 and deep enough */
    ORACLE_TX_FAILED = 4,     /* mined with status 0 (reverted), deep enough */
    ORACLE_TX_SUPERSEDED = 5, /* its nonce was used by none of our attempts, or the result got
                                 on chain by another transaction: nothing more to do */
};
const char* oracle_tx_state_name(int state);

enum {
    ORACLE_KIND_OTHER = 0,
    ORACLE_KIND_DEPLOY = 1,
    ORACLE_KIND_SUBMIT = 2,
    ORACLE_KIND_SIGNERS = 3
};

#define ORACLE_MAX_ATTEMPTS 16

/* One logical transaction (one nonce). Every fee bump is a new attempt with the same nonce;
 * all attempt hashes are kept because any of them may be the one that gets mined. */
typedef struct oracle_tx_record
{
    uint64_t id; /* journal-assigned, > 0 */
    int kind;
    uint64_t match_id; /* for ORACLE_KIND_SUBMIT */
    int state;
    int type; /* ETH_TX_1559 or ETH_TX_LEGACY */
    uint64_t chain_id, nonce, gas_limit, max_fee, tip, value;
    int has_to;
    uint8_t to[20];
    uint8_t from[20];
    char* data_hex; /* calldata, "0x..." */
    char* raw_hex;  /* latest signed attempt */
    size_t nattempts;
    uint8_t attempts[ORACLE_MAX_ATTEMPTS][32];
    int mined_attempt; /* index into attempts, -1 if none */
    uint64_t block_number;
    uint8_t block_hash[32];
    uint64_t gas_used;
    int receipt_status;
    uint64_t sent_block;  /* head when the latest attempt was broadcast */
    int64_t sent_unix;    /* wall-clock second of the latest broadcast */
    char last_error[128]; /* last error of a broadcast, for `status` */
    int noop;             /* 0, or 1 + the index of the first attempt that is a 0-value
                             self-transfer (a submit whose result was already on chain: the
                             nonce is filled without a gap). Earlier attempts are submits. */
} oracle_tx_record;

void oracle_tx_record_free(oracle_tx_record* r);
int oracle_tx_record_copy(oracle_tx_record* dst, const oracle_tx_record* src);

/* The journal is an interface so that the cluster can keep it in its Raft log. put() must be
 * durable before it returns: the manager broadcasts nothing it has not recorded. */
typedef struct oracle_journal
{
    void* ctx;
    /* Insert (r->id == 0: assign a fresh id and write it back) or replace by id. */
    int (*put)(void* ctx, oracle_tx_record* r);
    /* All records, oldest first; the caller frees them with oracle_tx_records_free. */
    int (*list)(void* ctx, oracle_tx_record** out, size_t* n);
    void (*close)(void* ctx);
} oracle_journal;

void oracle_tx_records_free(oracle_tx_record* recs, size_t n);
/* A record as compact JSON text with sorted keys (malloc'd; what the file journal writes per
 * line and the cluster's replicated journal keeps), and back. allow_new: id 0 is accepted (a
 * record not yet given an id). */
char* oracle_tx_record_to_text(const oracle_tx_record* r);
int oracle_tx_record_from_text(const char* text, size_t n, int allow_new, oracle_tx_record* r);
/* A journal in a local file of JSON lines (append-only, fsync'd; last line per id wins). */
int oracle_journal_file_open(oracle_journal* j, const char* path, eth_error* err);
void oracle_journal_close(oracle_journal* j);

/* ------------------------------------------------------------------ transaction manager */

/* One oracle_txm (with its eth_rpc) is used by one thread at a time. */
typedef struct oracle_txm oracle_txm;

typedef struct oracle_txm_config
{
    uint64_t chain_id;           /* 0: ask the node; otherwise the node must agree */
    unsigned confirmations;      /* depth counting the receipt's block (1 = mined); default 3 */
    const char* finality_tag;    /* also require the block to be at or below this tag's block
                                    ("safe" or "finalized"); NULL: depth only */
    unsigned bump_percent;       /* fee increase for a replacement; default 12, minimum 10 */
    unsigned stuck_blocks;       /* replace when no receipt after this many new heads; default 3 */
    unsigned stuck_seconds;      /* ... or after this long (0 = "at the next poll"); default 60 */
    int stuck_seconds_set;       /* use stuck_seconds even when 0 */
    unsigned gas_margin_percent; /* added to eth_estimateGas; default 20 */
    uint64_t max_fee_cap;        /* never bid more per gas than this (0 = no cap) */
    int force_legacy;            /* send EIP-155 legacy transactions even on 1559 chains */
    const char* abi_json;        /* to decode revert reasons (optional) */
} oracle_txm_config;

oracle_txm* oracle_txm_new(eth_rpc* rpc,
                           const eth_key* sender,
                           oracle_journal* journal,
                           const oracle_txm_config* cfg);
void oracle_txm_free(oracle_txm* m);
uint64_t oracle_txm_chain_id(const oracle_txm* m);
eth_rpc* oracle_txm_rpc(oracle_txm* m);

/* Records, signs and broadcasts a transaction. gas_limit 0: estimate (a revert fails here with
 * ETH_EREVERT and nothing is recorded). If the broadcast fails for transport reasons the record
 * stays in the journal (state NEW) and a later oracle_txm_poll sends it. *id gets the record. */
int oracle_txm_send(oracle_txm* m,
                    int kind,
                    uint64_t match_id,
                    const uint8_t* to,
                    const uint8_t* data,
                    size_t n,
                    uint64_t gas_limit,
                    uint64_t* id,
                    eth_error* err);
/* One round of follow-up for every open record: (re)broadcast NEW ones, follow receipts to the
 * confirmation depth, check that mined blocks are still canonical (a reorged-out transaction is
 * sent again), replace stuck ones with fees raised by bump_percent. */
int oracle_txm_poll(oracle_txm* m, eth_error* err);
/* Forces a fee-bumped replacement of an open record now. */
int oracle_txm_bump(oracle_txm* m, uint64_t id, eth_error* err);
/* Polls every poll_ms until the record is CONFIRMED, FAILED or SUPERSEDED, or timeout_ms. */
int oracle_txm_wait(oracle_txm* m, uint64_t id, long timeout_ms, long poll_ms, eth_error* err);
/* A copy of the record (free with oracle_tx_record_free). */
int oracle_txm_get(oracle_txm* m, uint64_t id, oracle_tx_record* out);

/* The result submitter. Reads the contract first and sends nothing if the match is already
 * reported (ETH_EALREADY); reuses an open journal record for the same match instead of sending
 * twice. Signatures are checked locally (recover + low-s) before anything is sent. */
int oracle_submit_result(oracle_txm* m,
                         const uint8_t contract[20],
                         const oracle_result* res,
                         const uint8_t (*sigs)[65],
                         size_t nsigs,
                         uint64_t* id,
                         eth_error* err);
int oracle_deploy(oracle_txm* m,
                  const oracle_artefact* a,
                  const uint8_t (*signers)[20],
                  size_t n,
                  unsigned threshold,
                  uint64_t* id,
                  uint8_t contract[20],
                  eth_error* err);
int oracle_set_signers(oracle_txm* m,
                       const uint8_t contract[20],
                       const uint8_t (*signers)[20],
                       size_t n,
                       unsigned threshold,
                       uint64_t* id,
                       eth_error* err);

/* ------------------------------------------------------------------ command line */

/* `parlayctl oracle ...`: argv[0] is "oracle". Returns a process exit status. */
int oracle_cli_main(int argc, char** argv);

#endif
