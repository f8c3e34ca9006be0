/* The command table: the list of domains (see cmdtable.h for how a command travels and how to
 * add one). Each domain's commands and databases are declared in its own file. */
#include "consensus/cmdtable.h"

#include <stddef.h>

extern const struct fsm_domain fixtures_domain, members_domain, accounts_domain,
    observations_domain, quotes_domain, idempotency_domain, wallet_domain, bets_domain, oracle_domain,
    operators_domain, trader_domain, trader_market_domain, governor_domain;

const struct fsm_domain *const fsm_domains[] = {
    &fixtures_domain, &idempotency_domain, &members_domain, &accounts_domain,
    &observations_domain, &quotes_domain, &wallet_domain, &bets_domain, &oracle_domain,
    &operators_domain, &trader_domain, &trader_market_domain, &governor_domain, NULL,
};

const struct fsm_command *cmdtable_find(unsigned type)
{
    if (type == 0)
        return NULL;
    for (const struct fsm_domain *const *d = fsm_domains; *d; d++)
        for (const struct fsm_command *c = (*d)->commands; c->type; c++)
            if (c->type == type)
                return c;
    return NULL;
}
