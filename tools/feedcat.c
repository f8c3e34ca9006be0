/* parlay-feedcat: read a provider the way a node will, print each observation on one line.
 *
 *   parlay-feedcat [--sse] [--poll-ms MS] [--count N] [--fallback URL]... [--header H]... URL
 *
 * Each line: the observation's JSON, a tab, its canonical encoding in hex (the bytes a node
 * will sign). Errors go to stderr as "error code=... msg=...". Stops after N observations
 * (--count) or on SIGINT / SIGTERM. A manual check of a provider, and the library's example.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed/feed.h"

static struct feed_provider *prov;
static unsigned long count, limit;
static uv_signal_t sigs[2];

static void stop(void)
{
    feed_close(prov, NULL, NULL);
    for (int i = 0; i < 2; i++)
        if (!uv_is_closing((uv_handle_t *)&sigs[i]))
            uv_close((uv_handle_t *)&sigs[i], NULL);
}

static void on_obs(void *arg, const struct feed_obs *o)
{
    (void)arg;
    uint8_t enc[FEED_ENCODED_MAX];
    int len = feed_encode(o, enc, sizeof enc, NULL);
    char *json = feed_obs_to_json_text(o);
    printf("%s\t", json ? json : "?");
    for (int i = 0; i < len; i++)
        printf("%02x", enc[i]);
    printf("\n");
    fflush(stdout);
    free(json);
    if (limit && ++count >= limit)
        stop();
}

static void on_error(void *arg, const struct feed_error *e)
{
    (void)arg;
    fprintf(stderr, "error code=%s msg=\"%s\"\n", feed_strerror(e->code), e->msg);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h;
    (void)signum;
    stop();
}

int main(int argc, char **argv)
{
    struct feed_config cfg = {.adapter = FEED_REST, .on_obs = on_obs, .on_error = on_error};
    const char *fallbacks[16] = {0}, *headers[32] = {0};
    int nfb = 0, nh = 0, c;
    static const struct option opts[] = {{"sse", no_argument, 0, 's'},
                                         {"poll-ms", required_argument, 0, 'p'},
                                         {"count", required_argument, 0, 'n'},
                                         {"fallback", required_argument, 0, 'f'},
                                         {"header", required_argument, 0, 'H'},
                                         {0, 0, 0, 0}};
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': cfg.adapter = FEED_SSE; break;
        case 'p': cfg.poll_ms = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': limit = strtoul(optarg, NULL, 10); break;
        case 'f':
            if (nfb < 15)
                fallbacks[nfb++] = optarg;
            break;
        case 'H':
            if (nh < 31)
                headers[nh++] = optarg;
            break;
        default:
            fprintf(stderr, "usage: parlay-feedcat [--sse] [--poll-ms MS] [--count N] "
                            "[--fallback URL]... [--header H]... URL\n");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: parlay-feedcat [--sse] [--poll-ms MS] [--count N] "
                        "[--fallback URL]... [--header H]... URL\n");
        return 2;
    }
    cfg.url = argv[optind];
    cfg.fallback_urls = nfb ? fallbacks : NULL;
    cfg.headers = nh ? headers : NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_t *loop = uv_default_loop();
    int rc = feed_open(loop, &cfg, &prov);
    if (rc) {
        fprintf(stderr, "parlay-feedcat: %s\n", feed_strerror(rc));
        return 2;
    }
    for (int i = 0; i < 2; i++) {
        uv_signal_init(loop, &sigs[i]);
        uv_signal_start(&sigs[i], on_signal, i ? SIGINT : SIGTERM);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    curl_global_cleanup();
    return 0;
}
