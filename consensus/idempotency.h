/* Idempotency records (idempotency.c): what the state machine keeps of each keyed request. */
#ifndef PARLAY_IDEMPOTENCY_H
#define PARLAY_IDEMPOTENCY_H

#include <jansson.h>
#include <stdint.h>

/* CMD_IDEM_EXPIRE: forget the records stamped before @before_ms (see cmd_fill). */
struct cmd;
char *idem_cmd_expire(struct cmd *c, uint64_t before_ms);

#endif
