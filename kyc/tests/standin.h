/* Test support for kyc: starts the stand-in providers (node programs in kyc/standin) on a free
 * 127.0.0.1 port and waits for their READY line with a deadline; plays the browser through
 * a login; receives webhooks. */
#ifndef PARLAY_KYC_TESTS_STANDIN_H
#define PARLAY_KYC_TESTS_STANDIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct
{
    pid_t pid;
    int out_fd;
    char url[256]; /* what the program printed after READY */
    char log[256];
} standin;

/* Starts `node <script> --port 0 [extra...]` and waits (at most 60 s) for "READY <url>".
 * Returns 0 or -1 (the reason and the program's log go to stderr). */
int standin_start(standin* s, const char* script, const char* const* extra);
/* SIGTERM, then SIGKILL if it does not exit; reaps it. */
void standin_stop(standin* s);

/* Follows the redirects of a login from the authorize URL like a browser (cookies kept),
 * asking the stand-in's headless interaction route for `identity` (deny: refuse instead),
 * until the provider redirects to a URL starting with redirect_prefix. *query receives that
 * URL's query string (malloc'ed). Returns 0, or -1 with the last HTTP status in *status. */
int browser_login(const char* authorize_url,
                  const char* identity,
                  bool deny,
                  const char* redirect_prefix,
                  char** query,
                  long* status);

/* GET a URL; returns the HTTP status or -1. */
long http_status_of(const char* url);

/* A one-thread HTTP receiver on 127.0.0.1 that answers 200 to everything and keeps each
 * request's headers and raw body. */
#define RECV_MAX 16
typedef struct
{
    char headers[4096];
    char* body;
    size_t len;
} recv_req;

typedef struct
{
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    recv_req reqs[RECV_MAX];
    size_t n;
    bool stop;
} receiver;

int receiver_start(receiver* r);
/* Waits (at most 30 s) until at least n requests arrived; returns how many did. */
size_t receiver_wait(receiver* r, size_t n);
/* Value of a header of request i (case-insensitive name) into out; false if absent. */
bool receiver_header(receiver* r, size_t i, const char* name, char* out, size_t outsz);
void receiver_stop(receiver* r);

#endif
