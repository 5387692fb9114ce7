/* cmd/farad/cmds.c - the command table `farad` dispatches on. */
#include "cmd/farad/cmds.h"
#include "cmd/farad/farad.h"

#include <stdio.h>
#include <string.h>

const farad_cmd_t farad_cmds[] = {
    { "record", cmd_record, cmd_record_usage, "Record the result of a query or a snapshot of the current stream data.", false },
    { "define", cmd_define, cmd_define_usage, "Create/update a task.", false },
    { "define-template", cmd_define_template, cmd_define_template_usage, "Create/update a template.", false },
    { "replay", cmd_replay, cmd_replay_usage, "Replay a recording to a task.", false },
    { "replay-live", cmd_replay_live, cmd_replay_live_usage, "Replay data against a task without recording it.", false },
    { "enable", cmd_enable, cmd_enable_usage, "Enable and start running a task with live data.", false },
    { "disable", cmd_disable, cmd_disable_usage, "Stop running a task.", false },
    { "reload", cmd_reload, cmd_reload_usage, "Reload a running task with an updated task definition.", false },
    { "delete", cmd_delete, cmd_delete_usage, "Delete tasks, templates, recordings or replays.", false },
    { "list", cmd_list, cmd_list_usage, "List information about tasks, templates, recordings or replays.", false },
    { "show", cmd_show, cmd_show_usage, "Display detailed information about a task.", false },
    { "show-template", cmd_show_template, cmd_show_template_usage, "Display detailed information about a template.", false },
    { "level", cmd_level, cmd_level_usage, "Sets the logging level on the faradd server.", false },
    { "stats", cmd_stats, cmd_stats_usage, "Display various stats about farad.", false },
    { "version", cmd_version, cmd_version_usage, "Displays the farad version info.", true },
    { "vars", cmd_vars, cmd_vars_usage, "Print debug vars in JSON format.", false },
    { "help", cmd_help, cmd_help_usage, "Prints help for a command.", true },
    { "test", farad_test_main, NULL, "Run a TICKscript offline on a file of line protocol and print what it emits.", true },
    { NULL, NULL, NULL, NULL, false },
};

const farad_cmd_t *farad_cmd_find(const char *name)
{
    for (const farad_cmd_t *c = farad_cmds; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void farad_usage(void)
{
    fputs("\nUsage: farad [options] [command] [args]\n\nCommands:\n\n", stderr);
    for (const farad_cmd_t *c = farad_cmds; c->name != NULL; c++)
        fprintf(stderr, "\t%-22s%s\n", c->name, c->summary);
    fputs("\nOptions:\n"
          "  -skipVerify\n"
          "    \tDisable SSL verification (note, this is insecure). Defaults to the KAPACITOR_UNSAFE_SSL environment "
          "variable or false if not set.\n"
          "  -url string\n"
          "    \tThe URL http(s)://host:port of the faradd API. Defaults to the FARAD_URL (or KAPACITOR_URL) "
          "environment variable or http://localhost:9092 if not set.\n",
          stderr);
}
