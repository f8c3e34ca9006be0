#include "oracle/oracle.h"
int oracle_cli_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 2;
}
