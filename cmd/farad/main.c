/* cmd/farad/main.c - farad, the command-line tool: dispatches subcommands.
 *
 *   farad test -tick FILE [-dbrp DB.RP] -data FILE [-real-clock] [-idle-flush DURATION]
 *   farad version
 * The full Kapacitor-style CLI (define, show, record, replay ...) comes in issue 5. */
#include <stdio.h>
#include <string.h>

#include "cmd/farad/farad.h"

static void usage(FILE *f)
{
    fputs("usage: farad COMMAND [flags]\n"
          "  test      run a TICKscript on a file of line protocol and print what it emits\n"
          "  version   print the version\n"
          "`farad COMMAND -h` shows a command's flags.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "test") == 0)
        return farad_test_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0) {
        printf("farad %s\n", FARAD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "-help") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "farad: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
