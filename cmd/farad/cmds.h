/* cmd/farad/cmds.h - the farad command table: one entry per subcommand, dispatched by main.c.
 * To add a command, write `int cmd_x(int argc, char **argv)` in a cmd_<group>.c (or its own
 * file, like test.c), declare it here and add a row to farad_cmds[] in cmds.c. */
#ifndef CMD_FARAD_CMDS_H
#define CMD_FARAD_CMDS_H
#include <stdbool.h>

typedef struct farad_cmd {
    const char *name;
    /** argv[0] is the command name; returns the process exit code (cli.h CLI_EXIT_*). */
    int (*run)(int argc, char **argv);
    /** Prints the command's usage on stderr (for `farad help <cmd>`); may be NULL. */
    void (*usage)(void);
    const char *summary;
    /** Needs no server: main does not check the URL first. */
    bool offline;
} farad_cmd_t;

/** The commands, in the order `farad help` lists them; ends with a NULL name. */
extern const farad_cmd_t farad_cmds[];

/** The command named `name`, or NULL. */
const farad_cmd_t *farad_cmd_find(const char *name);
/** The general usage (commands and global options) on stderr. */
void farad_usage(void);

/* cmd_tasks.c */
int cmd_define(int argc, char **argv);
int cmd_define_template(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_disable(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_show_template(int argc, char **argv);
void cmd_define_usage(void);
void cmd_define_template_usage(void);
void cmd_enable_usage(void);
void cmd_disable_usage(void);
void cmd_reload_usage(void);
void cmd_delete_usage(void);
void cmd_list_usage(void);
void cmd_show_usage(void);
void cmd_show_template_usage(void);

/* cmd_record.c */
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_replay_live(int argc, char **argv);
void cmd_record_usage(void);
void cmd_replay_usage(void);
void cmd_replay_live_usage(void);

/* cmd_misc.c */
int cmd_stats(int argc, char **argv);
int cmd_vars(int argc, char **argv);
int cmd_level(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
void cmd_stats_usage(void);
void cmd_vars_usage(void);
void cmd_level_usage(void);
void cmd_version_usage(void);
void cmd_help_usage(void);
#endif
