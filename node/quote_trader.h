/* Per-market trader controls in pricing (issue 17; consensus/trader_market.h has the command).
 * The round's inputs carry trader.markets {market: {line_move_q?, lean?, suspended?}}; these
 * apply them, the same way on every node (no clock, no state: inputs in, probabilities or
 * prices out). */
#ifndef PARLAY_QUOTE_TRADER_H
#define PARLAY_QUOTE_TRADER_H

#include <jansson.h>

#include "models/models.h"

/* Football: each leaned market's side up by bp / 10000 on every line, the other side down as
 * much (kept within 0.01..0.99; a decided line is left alone). After the 1X2 lean, whose
 * double chance and draw no bet follow the 1X2, so that a draw-no-bet lean stays. */
void quote_trader_lean_markets(const json_t *inputs, model_fb_markets *mk);
/* Football: each moved market's ladder shifted, line X priced as the model's X - line_move;
 * lines that fall off the ladder are not offered. */
void quote_trader_move_lines(const json_t *inputs, model_fb_prices *pr);
/* Tennis and basketball: @market's line move in whole units (games, points), 0 if none. Their
 * ladders are centred by the model; the pricing offers line X + move at the model's price of
 * line X, i.e. line Y at the model's Y - move, as football's moved lines. */
int quote_trader_line_units(const json_t *inputs, const char *market);
/* Tennis and basketball: @market's lean as a change of its first side's probability (over,
 * home: +bp / 10000; under, away: the opposite), 0 if none; quote_trader_leaned applies it
 * (within 0.01..0.99; a decided line, 0 or 1, is left alone), the other side follows. */
double quote_trader_lean_d(const json_t *inputs, const char *market);
double quote_trader_leaned(double p, double d);
/* Any sport: the suspended markets left out of @prices. */
void quote_trader_suspend_markets(const json_t *inputs, json_t *prices);

#endif
