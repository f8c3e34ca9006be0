/* Known-answer tests for the building blocks: each vector comes from a spec (EIP-155, EIP-712,
 * EIP-55, the RLP page) or was checked against a real node (oracle research notes, 2.x). */
#include "oracle/oracle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static void expect_hex(const uint8_t* p, size_t n, const char* hex)
{
    char* got = eth_hex_encode(p, n);
    assert_non_null(got);
    assert_string_equal(got, hex);
    free(got);
}

static void keccak_of(const char* s, const char* hex)
{
    uint8_t h[32];
    eth_keccak256(s, strlen(s), h);
    expect_hex(h, 32, hex);
}

static void test_keccak(void** state)
{
    (void)state;
    keccak_of("", "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    keccak_of("abc", "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    uint8_t in[300], h[32];
    for (int i = 0; i < 300; i++)
        in[i] = (uint8_t)i;
    eth_keccak256(in, 300, h);
    expect_hex(h, 32, "0xa679e749a6af300c36e7ff2255d220864eab27b382f9cfdc5aa4d13563ba36ff");
    eth_keccak256(in, 135, h); /* both pad bytes in one: 0x81 */
    expect_hex(h, 32, "0xcbdfd9dee5faad3818d6b06f95a219fd290b0e1706f6a82e5a595b9ce9faca62");
    eth_keccak256(in, 136, h); /* exactly one block: padding alone in a second block */
    expect_hex(h, 32, "0x7ce759f1ab7f9ce437719970c26b0a66ff11fe3e38e17df89cf5d29c7d7f807e");
}

static void rlp_str(const char* s, size_t n, const char* hex)
{
    eth_buf b;
    eth_buf_init(&b);
    eth_rlp_bytes(&b, (const uint8_t*)s, n);
    expect_hex(b.p, b.len, hex);
    eth_buf_free(&b);
}

static void test_rlp(void** state)
{
    (void)state;
    rlp_str("dog", 3, "0x83646f67");
    rlp_str("", 0, "0x80");
    rlp_str("\x00", 1, "0x00");
    rlp_str("\x0f", 1, "0x0f");
    eth_buf b, l;
    eth_buf_init(&b);
    eth_buf_init(&l);
    eth_rlp_u64(&b, 0);
    eth_rlp_u64(&b, 0x0400);
    eth_rlp_u64(&b, 15);
    expect_hex(b.p, b.len, "0x808204000f");

    /* ["cat","dog"] */
    eth_buf_reset(&b);
    eth_rlp_bytes(&b, (const uint8_t*)"cat", 3);
    eth_rlp_bytes(&b, (const uint8_t*)"dog", 3);
    eth_rlp_list(&l, b.p, b.len);
    expect_hex(l.p, l.len, "0xc88363617483646f67");

    /* [ [], [[]], [ [], [[]] ] ] */
    eth_buf e, one, two, items;
    eth_buf_init(&e);
    eth_buf_init(&one);
    eth_buf_init(&two);
    eth_buf_init(&items);
    eth_rlp_list(&e, NULL, 0);      /* [] */
    eth_rlp_list(&one, e.p, e.len); /* [[]] */
    eth_buf_append(&two, e.p, e.len);
    eth_buf_append(&two, one.p, one.len);
    eth_buf_append(&items, e.p, e.len);
    eth_buf_append(&items, one.p, one.len);
    eth_rlp_list(&items, two.p, two.len); /* [ [], [[]] ] */
    eth_buf_reset(&l);
    eth_rlp_list(&l, items.p, items.len);
    expect_hex(l.p, l.len, "0xc7c0c1c0c3c0c1c0");

    /* long strings: 56 bytes -> b8 38, 1024 bytes -> b9 04 00 */
    uint8_t big[1024];
    memset(big, 'a', sizeof big);
    eth_buf_reset(&b);
    eth_rlp_bytes(&b, big, 56);
    assert_int_equal(b.len, 58);
    assert_int_equal(b.p[0], 0xb8);
    assert_int_equal(b.p[1], 0x38);
    eth_buf_reset(&b);
    eth_rlp_bytes(&b, big, 1024);
    assert_int_equal(b.len, 1027);
    assert_int_equal(b.p[0], 0xb9);
    assert_int_equal(b.p[1], 0x04);
    assert_int_equal(b.p[2], 0x00);
    eth_buf_free(&b);
    eth_buf_free(&l);
    eth_buf_free(&e);
    eth_buf_free(&one);
    eth_buf_free(&two);
    eth_buf_free(&items);
}

static void test_selectors(void** state)
{
    (void)state;
    uint8_t s[4];
    eth_abi_selector("baz(uint32,bool)", s);
    expect_hex(s, 4, "0xcdcd77c0");
    eth_abi_selector("sam(bytes,bool,uint256[])", s);
    expect_hex(s, 4, "0xa5643bf2");
    eth_abi_selector("transfer(address,uint256)", s);
    expect_hex(s, 4, "0xa9059cbb");
    eth_abi_selector("submitResult(uint256,uint8,uint8,bytes[])", s);
    expect_hex(s, 4, "0x63e6496f");
}

static void test_addresses(void** state)
{
    (void)state;
    eth_key k;
    assert_int_equal(
        eth_key_from_hex(&k, "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
        ETH_OK);
    char a[43];
    eth_address_checksum(k.address, a);
    assert_string_equal(a, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    uint8_t c[20];
    eth_create_address(k.address, 0, c);
    expect_hex(c, 20, "0x5fbdb2315678afecb367f032d93f642f64180aa3");

    uint8_t cow[32];
    eth_keccak256("cow", 3, cow);
    assert_int_equal(eth_key_from_secret(&k, cow), ETH_OK);
    expect_hex(k.address, 20, "0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826");

    const char* cases[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t addr[20];
        assert_int_equal(eth_address_parse(cases[i], addr), ETH_OK);
        eth_address_checksum(addr, a);
        assert_string_equal(a, cases[i]);
    }
    eth_key_wipe(&k);
}

/* EIP-155's example transaction, byte for byte. */
static void test_eip155(void** state)
{
    (void)state;
    uint8_t secret[32];
    memset(secret, 0x46, 32);
    eth_key k;
    assert_int_equal(eth_key_from_secret(&k, secret), ETH_OK);
    eth_tx tx = {.type = ETH_TX_LEGACY,
                 .chain_id = 1,
                 .nonce = 9,
                 .max_fee = 20000000000ULL,
                 .gas_limit = 21000,
                 .has_to = 1,
                 .value = 1000000000000000000ULL};
    memset(tx.to, 0x35, 20);
    uint8_t h[32];
    assert_int_equal(eth_tx_signing_hash(&tx, h), ETH_OK);
    expect_hex(h, 32, "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
    eth_buf raw;
    eth_buf_init(&raw);
    uint8_t txh[32];
    assert_int_equal(eth_tx_sign(&tx, &k, &raw, txh), ETH_OK);
    expect_hex(raw.p, raw.len,
               "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7"
               "6400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067"
               "cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
    eth_buf_free(&raw);
}

/* An EIP-1559 transfer byte-identical to what anvil's eth_signTransaction produced. */
static void test_eip1559(void** state)
{
    (void)state;
    eth_key k;
    assert_int_equal(
        eth_key_from_hex(&k, "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
        ETH_OK);
    eth_tx tx = {.type = ETH_TX_1559,
                 .chain_id = 31337,
                 .nonce = 0,
                 .max_priority_fee = 1000000000,
                 .max_fee = 3000000000,
                 .gas_limit = 21000,
                 .has_to = 1,
                 .value = 1000000000000000000ULL};
    assert_int_equal(eth_address_parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", tx.to),
                     ETH_OK);
    uint8_t h[32];
    assert_int_equal(eth_tx_signing_hash(&tx, h), ETH_OK);
    expect_hex(h, 32, "0x1e6df772a5754d642af0a6eb2490b37e7ee4aff5994733d78233bcbbd9d4fdfa");
    eth_buf raw;
    eth_buf_init(&raw);
    assert_int_equal(eth_tx_sign(&tx, &k, &raw, h), ETH_OK);
    expect_hex(raw.p, raw.len,
               "0x02f874827a6980843b9aca0084b2d05e008252089470997970c51812dc3a010c7d01b50e0d17dc79"
               "c8880de0b6b3a764000080c001a0327b671398e480b9ae2a3b89650723c01d64f3dff2d3acfc13a13a"
               "6c0ee30da2a01381fa02803f87cc7ec266fff399d884f155d2cf803912fecccf8a867c3b7b35");
    expect_hex(h, 32, "0x21f97614e3117d6e9083ba46b8b2be20c428008e5f6801adcc19fc00741833a6");
    eth_buf_free(&raw);
}

/* EIP-712's "Mail" example: domain, struct hash (built by hand from the spec's encodeData),
 * digest, and the signature by keccak256("cow"). */
static void test_eip712_mail(void** state)
{
    (void)state;
    uint8_t contract[20], ds[32];
    memset(contract, 0xcc, 20);
    eth_eip712_domain("Ether Mail", "1", 1, contract, ds);
    expect_hex(ds, 32, "0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");

    const char* person_t = "Person(string name,address wallet)";
    const char* mail_t =
        "Mail(Person from,Person to,string contents)Person(string name,address wallet)";
    uint8_t pth[32], mth[32];
    eth_keccak256(person_t, strlen(person_t), pth);
    eth_keccak256(mail_t, strlen(mail_t), mth);
    expect_hex(mth, 32, "0xa0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");

    struct
    {
        const char *name, *wallet;
    } people[2] = {{"Cow", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
                   {"Bob", "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}};
    uint8_t ph[2][32];
    for (int i = 0; i < 2; i++) {
        eth_buf b;
        eth_buf_init(&b);
        uint8_t nh[32], w[20];
        eth_abi_word(&b, pth);
        eth_keccak256(people[i].name, strlen(people[i].name), nh);
        eth_abi_word(&b, nh);
        assert_int_equal(eth_address_parse(people[i].wallet, w), ETH_OK);
        eth_abi_address(&b, w);
        eth_keccak256(b.p, b.len, ph[i]);
        eth_buf_free(&b);
    }
    eth_buf b;
    eth_buf_init(&b);
    uint8_t ch[32], sh[32], d[32];
    eth_abi_word(&b, mth);
    eth_abi_word(&b, ph[0]);
    eth_abi_word(&b, ph[1]);
    eth_keccak256("Hello, Bob!", 11, ch);
    eth_abi_word(&b, ch);
    eth_keccak256(b.p, b.len, sh);
    eth_buf_free(&b);
    expect_hex(sh, 32, "0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
    eth_eip712_digest(ds, sh, d);
    expect_hex(d, 32, "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

    uint8_t cow[32], sig[65], who[20];
    eth_key k;
    eth_keccak256("cow", 3, cow);
    assert_int_equal(eth_key_from_secret(&k, cow), ETH_OK);
    assert_int_equal(eth_sign_digest(&k, d, sig), ETH_OK);
    expect_hex(sig, 32, "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d");
    expect_hex(sig + 32, 32, "0x07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562");
    assert_int_equal(sig[64], 28);
    assert_true(eth_sig_is_low_s(sig));
    assert_int_equal(eth_recover(d, sig, who), ETH_OK);
    assert_memory_equal(who, k.address, 20);
}

/* The research notes' project-shaped vector (an earlier Result type with uint8 scores) checks
 * the domain with a real chain id and contract address and the signature by anvil key 1. */
static void test_eip712_project_vector(void** state)
{
    (void)state;
    uint8_t contract[20], ds[32];
    assert_int_equal(eth_address_parse("0x5fbdb2315678afecb367f032d93f642f64180aa3", contract),
                     ETH_OK);
    eth_eip712_domain("MatchOracle", "1", 31337, contract, ds);
    expect_hex(ds, 32, "0x1720bb241e8b1fc96d864dbcfaf8ef9e05d1fe1e1c502e750551f3cfea95d2d4");
    const char* t = "Result(uint256 matchId,uint8 home,uint8 away)";
    uint8_t th[32], sh[32], d[32], sig[65];
    eth_keccak256(t, strlen(t), th);
    expect_hex(th, 32, "0x800d727ee008f6c867064a272fd4ad3f3d5e1e291cfd98dd30cf846d719f1d1f");
    eth_buf b;
    eth_buf_init(&b);
    eth_abi_word(&b, th);
    eth_abi_u64(&b, 1);
    eth_abi_u64(&b, 2);
    eth_abi_u64(&b, 1);
    eth_keccak256(b.p, b.len, sh);
    eth_buf_free(&b);
    expect_hex(sh, 32, "0xe71409c351426ef7b25b19bd337634a6d16a5752c376ed91fdf61fde0198bda0");
    eth_eip712_digest(ds, sh, d);
    expect_hex(d, 32, "0x7ada41b02912f3dbbc09e9186318db2e032a31129f0124337a1d903032ad74f1");
    eth_key k;
    assert_int_equal(
        eth_key_from_hex(&k, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
        ETH_OK);
    assert_int_equal(eth_sign_digest(&k, d, sig), ETH_OK);
    expect_hex(sig, 65,
               "0xa993b1a3e87b12d6f949c1903f647b38737854c1287404f700cc8e2ae646250a71656bf9ceedfdf3"
               "5de8befba545fe1f965f9377fafff64666decc140c59f0201b");
}

static void test_fee_bump(void** state)
{
    (void)state;
    assert_int_equal(eth_fee_bump(100, 10), 110);
    assert_int_equal(eth_fee_bump(101, 10), 112); /* 111.1 rounds up */
    assert_int_equal(eth_fee_bump(1, 10), 2);     /* always strictly more */
    assert_int_equal(eth_fee_bump(0, 10), 1);
    assert_int_equal(eth_fee_bump(1000000000, 5), 1100000000); /* never below 10% */
    assert_int_equal(eth_fee_bump(3000000001ULL, 12), 3360000002ULL);
    for (uint64_t v = 1; v < 100000; v += 7)
        assert_true(eth_fee_bump(v, 10) * 100 >= v * 110);
}

static void test_revert_decoding(void** state)
{
    (void)state;
    const char* abi =
        "[{\"type\":\"error\",\"name\":\"AlreadyReported\",\"inputs\":"
        "[{\"name\":\"matchId\",\"type\":\"uint256\"}]},"
        "{\"type\":\"error\",\"name\":\"UnknownSigner\",\"inputs\":"
        "[{\"name\":\"signer\",\"type\":\"address\"}]}]";
    eth_buf d;
    eth_buf_init(&d);
    uint8_t sel[4];
    eth_abi_selector("AlreadyReported(uint256)", sel);
    eth_buf_append(&d, sel, 4);
    eth_abi_u64(&d, 7);
    char out[128];
    eth_abi_decode_revert(abi, d.p, d.len, out, sizeof out);
    assert_string_equal(out, "AlreadyReported(7)");

    eth_buf_reset(&d);
    eth_abi_selector("Error(string)", sel);
    eth_buf_append(&d, sel, 4);
    eth_abi_u64(&d, 32);
    eth_abi_u64(&d, 5);
    uint8_t w[32] = "hello";
    eth_abi_word(&d, w);
    eth_abi_decode_revert(abi, d.p, d.len, out, sizeof out);
    assert_string_equal(out, "hello");
    eth_buf_free(&d);
}

static void test_contract_calldata(void** state)
{
    (void)state;
    /* submitResult with k signatures: 4 + 7 words + 2 words per signature; v in one word. */
    oracle_result r = {.match_id = 42, .status = ORACLE_STATUS_FINAL, .home = 3, .away = 1};
    uint8_t sigs[2][65];
    memset(sigs, 0xab, sizeof sigs);
    sigs[0][64] = 27;
    sigs[1][64] = 28;
    eth_buf b;
    eth_buf_init(&b);
    assert_int_equal(oracle_calldata_submit(&r, (const uint8_t(*)[65])sigs, 2, &b), ETH_OK);
    assert_int_equal(b.len, 4 + 7 * 32 + 2 * 64);
    assert_int_equal(eth_abi_read_u64(b.p + 4 + 4 * 32), 192);
    assert_int_equal(eth_abi_read_u64(b.p + 4 + 5 * 32), 2); /* v bits: sig 1 has v = 28 */
    assert_int_equal(eth_abi_read_u64(b.p + 4 + 6 * 32), 2); /* array length */
    sigs[1][64] = 29;
    eth_buf_reset(&b);
    assert_int_equal(oracle_calldata_submit(&r, (const uint8_t(*)[65])sigs, 2, &b), ETH_EINVAL);
    eth_buf_free(&b);
}

static void test_key_file_permissions(void** state)
{
    (void)state;
    char dir[] = "/tmp/oracle-keytest-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/sender.key", dir);
    eth_key k, k2;
    assert_int_equal(eth_key_generate_file(&k, path), ETH_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    eth_error err;
    assert_int_equal(eth_key_load_file(&k2, path, &err), ETH_OK);
    assert_memory_equal(k.address, k2.address, 20);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(eth_key_load_file(&k2, path, &err), ETH_EKEY);
    assert_non_null(strstr(err.message, "permissions"));
    /* the error names the file and the reason, never the key */
    char* secret_hex = eth_hex_encode(k.secret, 32);
    assert_null(strstr(err.message, secret_hex + 2));
    free(secret_hex);

    assert_int_equal(chmod(path, 0600), 0);
    FILE* f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    assert_int_equal(eth_key_load_file(&k2, path, &err), ETH_EKEY);
    unlink(path);
    assert_int_equal(eth_key_load_file(&k2, path, &err), ETH_EKEY);
    rmdir(dir);
    eth_key_wipe(&k);
    eth_key_wipe(&k2);
}

/* The file journal: last version per id wins, a torn last line is ignored, and reopening a
 * file made mostly of old versions compacts it to one line per record. */
static void test_file_journal(void** state)
{
    (void)state;
    char dir[] = "/tmp/oracle-journal-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/j.jsonl", dir);
    oracle_journal j;
    assert_int_equal(oracle_journal_file_open(&j, path, NULL), ETH_OK);
    oracle_tx_record a = {.kind = ORACLE_KIND_SUBMIT, .match_id = 9, .mined_attempt = -1},
                     b = {.kind = ORACLE_KIND_DEPLOY, .mined_attempt = -1};
    a.data_hex = "0x1234";
    assert_int_equal(j.put(j.ctx, &a), ETH_OK);
    assert_int_equal(j.put(j.ctx, &b), ETH_OK);
    assert_int_equal(a.id, 1);
    assert_int_equal(b.id, 2);
    for (uint64_t i = 0; i < 100; i++) {
        a.nonce = i;
        assert_int_equal(j.put(j.ctx, &a), ETH_OK);
    }
    oracle_journal_close(&j);
    FILE* f = fopen(path, "a");
    fputs("{\"id\":1,\"nonce\":5", f); /* a crash mid-write */
    fclose(f);

    assert_int_equal(oracle_journal_file_open(&j, path, NULL), ETH_OK);
    oracle_tx_record* recs;
    size_t n;
    assert_int_equal(j.list(j.ctx, &recs, &n), ETH_OK);
    assert_int_equal(n, 2);
    assert_int_equal(recs[0].id, 1);
    assert_int_equal(recs[0].nonce, 99);
    assert_string_equal(recs[0].data_hex, "0x1234");
    assert_int_equal(recs[1].kind, ORACLE_KIND_DEPLOY);
    oracle_tx_records_free(recs, n);
    oracle_tx_record c = {.kind = ORACLE_KIND_SIGNERS, .mined_attempt = -1};
    assert_int_equal(j.put(j.ctx, &c), ETH_OK);
    assert_int_equal(c.id, 3); /* ids continue after a reopen */
    oracle_journal_close(&j);

    int lines = 0, ch;
    f = fopen(path, "r");
    while ((ch = fgetc(f)) != EOF)
        lines += ch == '\n';
    fclose(f);
    assert_int_equal(lines, 3); /* compacted: 2 records, then the new one */
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keccak),
        cmocka_unit_test(test_rlp),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_eip155),
        cmocka_unit_test(test_eip1559),
        cmocka_unit_test(test_eip712_mail),
        cmocka_unit_test(test_eip712_project_vector),
        cmocka_unit_test(test_fee_bump),
        cmocka_unit_test(test_revert_decoding),
        cmocka_unit_test(test_contract_calldata),
        cmocka_unit_test(test_key_file_permissions),
        cmocka_unit_test(test_file_journal),
    };
    return cmocka_run_group_tests_name("oracle vectors", tests, NULL, NULL);
}
