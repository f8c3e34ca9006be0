/* The version parlayd and parlayctl print (--version). The build may add the commit
 * (-DPARLAY_COMMIT="..."). */
#ifndef PARLAY_VERSION_H
#define PARLAY_VERSION_H

#define PARLAY_VERSION "0.13.0"

#ifdef PARLAY_COMMIT
#define PARLAY_VERSION_LINE PARLAY_VERSION " (" PARLAY_COMMIT ")"
#else
#define PARLAY_VERSION_LINE PARLAY_VERSION
#endif

#endif
