/* The scopes of admin credentials (declared in consensus/operators.h). Apart from operators.c
 * so that the node's configuration check links without the state machine. */
#include <stdbool.h>
#include <string.h>

#include "consensus/operators.h"

const char *const operator_scopes[] = {"cluster", "kyc",       "wallet",    "bets",
                                       "oracle",  "audit:read", "operators", NULL};

bool operator_scope_known(const char *s)
{
    for (const char *const *p = operator_scopes; s && *p; p++)
        if (!strcmp(*p, s))
            return true;
    return false;
}
