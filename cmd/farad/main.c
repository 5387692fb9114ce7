/* cmd/farad/main.c - farad, the command-line client of faradd's Kapacitor-compatible API:
 *
 *   farad [-url URL] [-skipVerify] <command> [args]
 *   farad test -tick FILE [-dbrp DB.RP] -data FILE ...   (offline runner, test.c)
 *
 * The URL comes from -url, else FARAD_URL, else KAPACITOR_URL, else http://localhost:9092.
 * Commands are in the table of cmds.c. Exit codes as the kapacitor CLI: 0 ok, 1 usage,
 * 2 bad arguments, 3 the command failed (the server's error on stderr), 4 bad URL. */
#include <stdlib.h>
#include <string.h>

#include "cmd/farad/cli.h"
#include "cmd/farad/cmds.h"

static const char *opt_url;
static bool opt_skip;

static const cli_flag_t main_flags[] = {
    { "skipVerify", CLI_FLAG_BOOL, &opt_skip, NULL, "Disable SSL verification (note, this is insecure)." },
    { "url", CLI_FLAG_STR, &opt_url, NULL, "The URL http(s)://host:port of the faradd API." },
    { NULL, 0, NULL, NULL, NULL },
};

/* Global flags stop at the command (Go's flag package). Returns the command's index, or -1
 * with *rc set. */
static int global_flags(int argc, char **argv, int *rc)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        int npos, r, end = i + 1;
        /* a string flag without '=' takes the next argument too */
        if (strchr(argv[i], '=') == NULL && (strcmp(argv[i], "-url") == 0 || strcmp(argv[i], "--url") == 0))
            end = i + 2 <= argc ? i + 2 : argc;
        if ((r = cli_flags_parse(main_flags, end - i, argv + i, &npos, farad_usage)) >= 0) {
            *rc = r == CLI_EXIT_OK ? CLI_EXIT_OK : CLI_EXIT_USAGE;
            return -1;
        }
        i = end;
    }
    return i;
}

static const char *server_url(void)
{
    const char *u = opt_url;
    if (u == NULL || *u == '\0')
        u = getenv("FARAD_URL");
    if (u == NULL || *u == '\0')
        u = getenv("KAPACITOR_URL");
    return u != NULL && *u ? u : CLI_DEFAULT_URL;
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 || strcmp(v, "true") == 0 ||
                         strcmp(v, "TRUE") == 0 || strcmp(v, "True") == 0 || strcmp(v, "T") == 0);
}

int main(int argc, char **argv)
{
    int rc = CLI_EXIT_USAGE;
    int first = global_flags(argc, argv, &rc);
    cli_err_t err;

    if (first < 0)
        return rc;
    if (first >= argc) {
        fprintf(stderr, "Error: Must pass a command.\n");
        farad_usage();
        return CLI_EXIT_USAGE;
    }
    const farad_cmd_t *cmd = farad_cmd_find(argv[first]);
    if (cmd == NULL) {
        fprintf(stderr, "Unknown command %s\n", argv[first]);
        farad_usage();
        return CLI_EXIT_USAGE;
    }
    if (!cmd->offline) {
        bool skip = opt_skip || env_true("FARAD_UNSAFE_SSL") || env_true("KAPACITOR_UNSAFE_SSL");
        if (cli_http_init(server_url(), skip, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return CLI_EXIT_URL;
        }
    }
    rc = cmd->run(argc - first, argv + first);
    cli_http_deinit();
    fflush(stdout);
    return rc;
}
