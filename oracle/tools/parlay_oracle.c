/* parlay-oracle: a stand-alone front for `parlayctl oracle ...` (same code, same arguments),
 * for use before parlayctl dispatches to oracle_cli_main and in the oracle tests. */
#include "oracle/oracle.h"

int main(int argc, char** argv)
{
    argv[0] = "oracle";
    return oracle_cli_main(argc, argv);
}
