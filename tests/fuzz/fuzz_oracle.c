/* Fuzz target: the oracle's readers of chain and journal bytes, and its RLP encoder.
 *
 * The oracle (oracle/) decodes no RLP: it only encodes transactions. What it reads from
 * outside is revert data and quantities from the JSON-RPC endpoint, hex text, addresses and
 * the transaction journal's records. So each input is:
 *   - revert data for eth_abi_decode_revert, with the MatchOracle-like ABI below and again
 *     with the input's first line as the ABI JSON (the rest as the data): the reason is always
 *     terminated and within its buffer;
 *   - hex for eth_hex_decode_buf / eth_hex_u64 / eth_address_parse (first line): what decodes
 *     re-encodes to the same digits;
 *   - a journal record (oracle_tx_record_from_text): what it accepts prints and reads back to
 *     the same text;
 *   - RLP: the input cut into byte strings (a length byte, then that many bytes), each encoded
 *     as an item, the whole as a list, and an integer: a strict decoder written here reads
 *     them back (canonical: shortest length forms, single bytes below 0x80 as themselves,
 *     integers without leading zeros). */
#include <string.h>
#include <strings.h>

#include "oracle/oracle.h"
#include "tests/fuzz/fuzz.h"

static const char ABI[] =
    "[{\"type\":\"error\",\"name\":\"AlreadyReported\",\"inputs\":[{\"name\":\"m\",\"type\":"
    "\"uint64\"}]},{\"type\":\"error\",\"name\":\"BadSigner\",\"inputs\":[{\"name\":\"s\","
    "\"type\":\"address\"},{\"name\":\"ok\",\"type\":\"bool\"}]},{\"type\":\"error\",\"name\":"
    "\"NotEnough\",\"inputs\":[{\"name\":\"h\",\"type\":\"bytes32\"},{\"name\":\"n\",\"type\":"
    "\"uint256\"}]},{\"type\":\"error\",\"name\":\"Paused\",\"inputs\":[]}]";

static void check_revert(const char *abi, const uint8_t *d, size_t n)
{
    size_t sizes[] = {1, 7, 64, 256};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        char *out = malloc(sizes[k]);
        memset(out, 'x', sizes[k]);
        eth_abi_decode_revert(abi, d, n, out, sizes[k]);
        FUZZ_CHECK(memchr(out, 0, sizes[k]), "reason not terminated within %zu bytes", sizes[k]);
        free(out);
    }
}

static void check_hex(const char *s)
{
    eth_buf b;
    eth_buf_init(&b);
    if (eth_hex_decode_buf(s, &b) == ETH_OK) {
        char *h = eth_hex_encode(b.p, b.len);
        const char *digits = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? s + 2 : s;
        FUZZ_CHECK(h && strlen(h) == 2 + strlen(digits) && !strncasecmp(h + 2, digits, strlen(digits)),
                   "hex %s decodes to %s", s, h ? h : "?");
        free(h);
    }
    eth_buf_free(&b);
    uint64_t v;
    (void)eth_hex_u64(s, &v);
    uint8_t addr[20];
    if (eth_address_parse(s, addr) == ETH_OK) {
        char a[43];
        eth_address_checksum(addr, a);
        FUZZ_CHECK(!strncasecmp(a + 2, strlen(s) == 42 ? s + 2 : s, 40),
                   "address %s parses to %s", s, a);
    }
}

static void check_record(const uint8_t *p, size_t n)
{
    for (int allow_new = 0; allow_new < 2; allow_new++) {
        oracle_tx_record r, back;
        if (oracle_tx_record_from_text((const char *)p, n, allow_new, &r) != ETH_OK)
            continue;
        if (r.id == 0) { /* a new record prints only once it has an id */
            oracle_tx_record_free(&r);
            continue;
        }
        char *t = oracle_tx_record_to_text(&r);
        FUZZ_CHECK(t, "an accepted record does not print");
        FUZZ_CHECK(oracle_tx_record_from_text(t, strlen(t), 0, &back) == ETH_OK,
                   "own text refused: %s", t);
        char *t2 = oracle_tx_record_to_text(&back);
        FUZZ_CHECK(t2 && !strcmp(t, t2), "record round trip: %s / %s", t, t2 ? t2 : "?");
        free(t);
        free(t2);
        oracle_tx_record_free(&r);
        oracle_tx_record_free(&back);
    }
}

/* A strict RLP item reader: the item at @p (@n bytes): its payload and whether it is a list.
 * Returns the item's whole length, 0 when it is not canonical or runs past @n. */
static size_t rlp_item(const uint8_t *p, size_t n, const uint8_t **pl, size_t *plen, int *list)
{
    if (!n)
        return 0;
    uint8_t b = p[0];
    if (b < 0x80) {
        *pl = p, *plen = 1, *list = 0;
        return 1;
    }
    *list = b >= 0xc0;
    uint8_t base = *list ? 0xc0 : 0x80;
    size_t len, hdr;
    if (b - base < 56) {
        len = b - base, hdr = 1;
    } else {
        size_t k = (size_t)(b - base - 55);
        if (k > 8 || 1 + k > n || p[1] == 0)
            return 0;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[1 + i];
        if (len < 56)
            return 0;
        hdr = 1 + k;
    }
    if (len > n - hdr)
        return 0;
    if (!*list && len == 1 && p[hdr] < 0x80)
        return 0; /* a single low byte is encoded as itself */
    *pl = p + hdr, *plen = len;
    return hdr + len;
}

static void check_rlp(const uint8_t *d, size_t n)
{
    eth_buf items, list, one;
    eth_buf_init(&items);
    eth_buf_init(&list);
    const uint8_t *starts[64];
    size_t lens[64], count = 0, off = 0;
    while (off < n && count < 64) {
        size_t len = d[off++];
        if (len > n - off)
            len = n - off;
        starts[count] = d + off, lens[count++] = len;
        eth_buf_init(&one);
        eth_rlp_bytes(&one, d + off, len);
        const uint8_t *pl;
        size_t plen;
        int isl;
        FUZZ_CHECK(rlp_item(one.p, one.len, &pl, &plen, &isl) == one.len && !isl &&
                       plen == len && (!len || !memcmp(pl, d + off, len)),
                   "RLP string of %zu bytes", len);
        eth_buf_append(&items, one.p, one.len);
        eth_buf_free(&one);
        off += len;
    }
    eth_rlp_list(&list, items.p, items.len);
    const uint8_t *pl;
    size_t plen;
    int isl;
    FUZZ_CHECK(rlp_item(list.p, list.len, &pl, &plen, &isl) == list.len && isl &&
                   plen == items.len,
               "RLP list of %zu bytes", items.len);
    for (size_t i = 0, at = 0; i < count; i++) {
        const uint8_t *ip;
        size_t il;
        size_t used = rlp_item(pl + at, plen - at, &ip, &il, &isl);
        FUZZ_CHECK(used && !isl && il == lens[i] && (!il || !memcmp(ip, starts[i], il)),
                   "item %zu of the list", i);
        at += used;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v = v << 8 | d[i];
    eth_buf_init(&one);
    eth_rlp_u64(&one, v);
    FUZZ_CHECK(rlp_item(one.p, one.len, &pl, &plen, &isl) == one.len && !isl && plen <= 8 &&
                   (plen == 0 || pl[0] != 0),
               "RLP integer %llu", (unsigned long long)v);
    uint64_t back = 0;
    for (size_t i = 0; i < plen; i++)
        back = back << 8 | pl[i];
    FUZZ_CHECK(back == v, "RLP integer %llu read back as %llu", (unsigned long long)v,
               (unsigned long long)back);
    eth_buf_free(&one);
    eth_buf_free(&items);
    eth_buf_free(&list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_revert(ABI, data, size);
    struct fuzz_in in = {data, size};
    const uint8_t *line;
    size_t n = fuzz_part(&in, '\n', &line);
    char *abi = fuzz_strndup(line, n);
    check_revert(abi, in.p, in.n);
    check_hex(abi);
    free(abi);
    check_record(data, size);
    check_rlp(data, size);
    return 0;
}
