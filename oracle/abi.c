/* ABI encoding for the calls we make (static words; callers lay out dynamic parts) and revert
 * data decoding: Error(string), Panic(uint256), and custom errors looked up in the contract's
 * ABI JSON by selector, so that a revert reads "AlreadyReported(7)" instead of "0x1f5f...". */
#include "oracle/oracle.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

void eth_abi_word(eth_buf* out, const uint8_t w[32])
{
    eth_buf_append(out, w, 32);
}

void eth_abi_u64(eth_buf* out, uint64_t v)
{
    uint8_t w[32] = {0};
    for (int i = 0; i < 8; i++)
        w[31 - i] = (uint8_t)(v >> (8 * i));
    eth_buf_append(out, w, 32);
}

void eth_abi_address(eth_buf* out, const uint8_t addr[20])
{
    uint8_t w[32] = {0};
    memcpy(w + 12, addr, 20);
    eth_buf_append(out, w, 32);
}

void eth_abi_selector(const char* signature, uint8_t out[4])
{
    uint8_t h[32];
    eth_keccak256(signature, strlen(signature), h);
    memcpy(out, h, 4);
}

uint64_t eth_abi_read_u64(const uint8_t* word)
{
    uint64_t v = 0;
    for (int i = 24; i < 32; i++)
        v = v << 8 | word[i];
    return v;
}

int eth_abi_word_fits_u64(const uint8_t* word)
{
    for (int i = 0; i < 24; i++)
        if (word[i])
            return 0;
    return 1;
}

static void append_str(char* out, size_t out_len, const char* s)
{
    size_t used = strlen(out);
    if (used + 1 < out_len)
        snprintf(out + used, out_len - used, "%s", s);
}

static void format_word(const char* type, const uint8_t* w, char* tmp, size_t tmp_len)
{
    if (strcmp(type, "address") == 0) {
        char a[43];
        eth_address_checksum(w + 12, a);
        snprintf(tmp, tmp_len, "%s", a);
    } else if (strcmp(type, "bool") == 0) {
        snprintf(tmp, tmp_len, "%s", w[31] ? "true" : "false");
    } else if ((strncmp(type, "uint", 4) == 0) && eth_abi_word_fits_u64(w)) {
        snprintf(tmp, tmp_len, "%llu", (unsigned long long)eth_abi_read_u64(w));
    } else {
        char h[67];
        eth_hex_write(w, 32, h);
        snprintf(tmp, tmp_len, "%s", h);
    }
}

static int decode_error_string(const uint8_t* d, size_t n, char* out, size_t out_len)
{
    if (n < 68)
        return -1;
    uint64_t len = eth_abi_read_u64(d + 36);
    if (!eth_abi_word_fits_u64(d + 36) || len > n - 68)
        return -1;
    snprintf(out, out_len, "%.*s", (int)len, (const char*)d + 68);
    return 0;
}

static int decode_custom(const char* abi_json,
                         const uint8_t* d,
                         size_t n,
                         char* out,
                         size_t out_len)
{
    json_t* abi = json_loads(abi_json, 0, NULL);
    int found = -1;
    size_t i;
    json_t* e;
    json_array_foreach(abi, i, e)
    {
        const char* kind = json_string_value(json_object_get(e, "type"));
        const char* name = json_string_value(json_object_get(e, "name"));
        json_t* inputs = json_object_get(e, "inputs");
        if (!kind || strcmp(kind, "error") != 0 || !name || !json_is_array(inputs))
            continue;
        char sig[256];
        snprintf(sig, sizeof sig, "%s(", name);
        size_t j;
        json_t* in;
        json_array_foreach(inputs, j, in)
        {
            append_str(sig, sizeof sig, j ? "," : "");
            append_str(sig, sizeof sig, json_string_value(json_object_get(in, "type")));
        }
        append_str(sig, sizeof sig, ")");
        uint8_t sel[4];
        eth_abi_selector(sig, sel);
        if (memcmp(sel, d, 4) != 0)
            continue;
        out[0] = 0;
        append_str(out, out_len, name);
        append_str(out, out_len, "(");
        json_array_foreach(inputs, j, in)
        {
            const char* type = json_string_value(json_object_get(in, "type"));
            char tmp[80];
            if (4 + 32 * (j + 1) > n)
                snprintf(tmp, sizeof tmp, "?");
            else
                format_word(type ? type : "", d + 4 + 32 * j, tmp, sizeof tmp);
            append_str(out, out_len, j ? ", " : "");
            append_str(out, out_len, tmp);
        }
        append_str(out, out_len, ")");
        found = 0;
        break;
    }
    json_decref(abi);
    return found;
}

void eth_abi_decode_revert(const char* abi_json,
                           const uint8_t* d,
                           size_t n,
                           char* out,
                           size_t out_len)
{
    static const uint8_t error_sel[4] = {0x08, 0xc3, 0x79, 0xa0};
    static const uint8_t panic_sel[4] = {0x4e, 0x48, 0x7b, 0x71};
    if (out_len == 0)
        return;
    out[0] = 0;
    if (n == 0) {
        snprintf(out, out_len, "reverted without a reason");
        return;
    }
    if (n >= 4 && memcmp(d, error_sel, 4) == 0 && decode_error_string(d, n, out, out_len) == 0)
        return;
    if (n == 36 && memcmp(d, panic_sel, 4) == 0) {
        snprintf(out, out_len, "Panic(0x%02llx)", (unsigned long long)eth_abi_read_u64(d + 4));
        return;
    }
    if (n >= 4 && abi_json && decode_custom(abi_json, d, n, out, out_len) == 0)
        return;
    char hex[2 * 32 + 3];
    eth_hex_write(d, n < 32 ? n : 32, hex);
    snprintf(out, out_len, "custom error %s%s", hex, n > 32 ? "..." : "");
}
