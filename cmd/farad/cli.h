/* cmd/farad/cli.h - the farad client's shared pieces: HTTP to the Kapacitor API (libcurl),
 * Go-style JSON for request bodies, Go-style flags, times, durations and sizes as Kapacitor's
 * `kapacitor` CLI prints them. Internal to cmd/farad. */
#ifndef CMD_FARAD_CLI_H
#define CMD_FARAD_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "base/duration.h"
#include "base/str.h"

/* Exit codes, as the kapacitor CLI uses them. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1, /* no or unknown command */
    CLI_EXIT_ARGS = 2,  /* wrong arguments or flags */
    CLI_EXIT_FAIL = 3,  /* the command failed (server error, transport, file) */
    CLI_EXIT_URL = 4,   /* the server URL is unusable */
};

#define CLI_API "/kapacitor/v1"
#define CLI_DEFAULT_URL "http://localhost:9092"
/** Kapacitor's list page size: lists are fetched in pages of this many. */
#define CLI_LIST_LIMIT 100
/** Polls of a running recording or replay are this far apart. */
#define CLI_POLL_MS 500
/** Upper bound on polls (a day at CLI_POLL_MS), so a server that never finishes cannot hang us. */
#define CLI_POLL_MAX (24 * 3600 * 1000 / CLI_POLL_MS)

/** An error message: the server's {"error"} text, or what failed and where. */
typedef struct cli_err {
    char msg[4096];
} cli_err_t;

/** printf into err->msg (truncates). Always returns -1, for `return cli_errf(...)`. */
int cli_errf(cli_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Prefixes err->msg with "<prefix>: " (Go's errors.Wrap). */
void cli_err_wrap(cli_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Prints the message on stderr and returns CLI_EXIT_FAIL. */
int cli_fail(const cli_err_t *err);

/* ---- HTTP ---- */

/** Sets the server: scheme://host[:port] of `url` (its path is ignored, as links are absolute).
 * Returns 0, or -1 with err set ("Unsupported protocol scheme: ..."). */
int cli_http_init(const char *url, bool skip_verify, cli_err_t *err);
void cli_http_deinit(void);
/** The server base URL as given (for messages). */
const char *cli_http_url(void);

/** One request. `path` is an unescaped absolute path (a link href); `query` an encoded query
 * string or NULL; `body` a JSON body or NULL. `ok` lists the accepted statuses, 0-terminated.
 * On an accepted status with out != NULL the body is parsed into *out (caller json_decref).
 * Otherwise returns -1 with the server's {"error"} text, or "invalid response: code N: body: ...". */
int cli_request(const char *method, const char *path, const char *query, const fa_buf_t *body,
                const long *ok, json_t **out, cli_err_t *err);
/** GET returning the raw body whatever the status (for `vars`). */
int cli_get_raw(const char *path, fa_buf_t *out, cli_err_t *err);

/** Appends "key=value" to an encoded query, Go's url.QueryEscape ('*' as %2A, ' ' as '+'). */
void cli_query_add(fa_buf_t *q, const char *key, const char *value);
/** Appends an unescaped path: base + "/" + id. */
void cli_link(fa_buf_t *href, const char *base, const char *id);

/* ---- JSON ---- */

/** A Go encoding/json style writer over a buffer: keys in the order written, strings escaped as
 * Go does (<, >, & as \u003c...), floats in Go's shortest form. */
typedef struct cli_jw {
    fa_buf_t *b;
    int depth;
    bool comma[32];
} cli_jw_t;

void cli_jw_init(cli_jw_t *w, fa_buf_t *b);
void cli_jw_obj(cli_jw_t *w);
void cli_jw_arr(cli_jw_t *w);
/** Closes the innermost object or array. */
void cli_jw_end(cli_jw_t *w, char close);
void cli_jw_key(cli_jw_t *w, const char *k);
void cli_jw_str(cli_jw_t *w, const char *s);
void cli_jw_int(cli_jw_t *w, long long v);
void cli_jw_bool(cli_jw_t *w, bool v);
void cli_jw_null(cli_jw_t *w);
/** A value already encoded (e.g. a vars object rendered earlier). */
void cli_jw_raw(cli_jw_t *w, const char *json, size_t len);
/** Any parsed value, as Go re-marshals a decoded interface{}: object keys sorted. */
void cli_jw_value(cli_jw_t *w, const json_t *v);
/** Ends the document with the newline json.Encoder writes. */
void cli_jw_finish(cli_jw_t *w);

/** Go's %v of a float64 ("90", "0.5", "1e+06"). */
void cli_go_float_v(char *out, size_t n, double v);
/** Go's encoding/json form of a float64 ("90", "1e-07", "1e+21"). */
void cli_go_float_json(char *out, size_t n, double v);

/** Object member as a string; "" when missing or not a string. */
const char *cli_jstr(const json_t *o, const char *key);
/** Object member as an integer (reals truncated); 0 when missing. */
long long cli_jint(const json_t *o, const char *key);
bool cli_jbool(const json_t *o, const char *key);

/** Reads a whole file. Returns 0, or -1 with err ("failed to open file ..."). */
int cli_read_file(const char *path, fa_buf_t *out, cli_err_t *err);
/** Parses YAML (block or flow) into JSON values: plain scalars become int, real, bool or null
 * when they look like one, quoted scalars stay strings. Returns NULL with err set. */
json_t *cli_yaml_load(const char *text, size_t len, const char *what, cli_err_t *err);

/** Writes Kapacitor's vars object from a parsed vars map ({name: {type, value[, description]}}):
 * duration strings become integer nanoseconds, int and float are checked, list items keep
 * their {type, value}. Returns 0 or -1 with err set. */
int cli_vars_write(cli_jw_t *w, const json_t *vars, cli_err_t *err);

/* ---- flags (Go's flag package: -name value, -name=value, --name; bools take no value) ---- */

typedef enum { CLI_FLAG_STR, CLI_FLAG_BOOL, CLI_FLAG_FUNC } cli_flag_kind_t;

typedef struct cli_flag {
    const char *name;
    cli_flag_kind_t kind;
    void *dst;                /* const char ** | bool * | passed to set */
    /** CLI_FLAG_FUNC: takes the value; returns 0 or -1 with msg filled. */
    int (*set)(void *dst, const char *value, char *msg, size_t n);
    const char *help;
} cli_flag_t;

/** Parses flags anywhere among args[0..n) ("--" ends them); positional arguments are compacted
 * to the front of args and counted in *npos. On a bad flag prints Go's message and the usage,
 * and returns CLI_EXIT_ARGS (CLI_EXIT_OK for -h/-help); returns -1 when all went well. */
int cli_flags_parse(const cli_flag_t *flags, int n, char **args, int *npos, void (*usage)(void));
/** Prints the flags in Go's PrintDefaults layout on stderr. */
void cli_flags_print(const cli_flag_t *flags);

/* ---- times, durations, sizes ---- */

/** A parsed RFC 3339 time: UTC seconds since the epoch, nanoseconds, and the written offset. */
typedef struct cli_time {
    int64_t sec;
    int32_t nsec;
    int32_t off; /* seconds east of UTC as written */
    bool zulu;   /* written as Z */
} cli_time_t;

/** Parses RFC 3339 with optional fraction. Returns 0 or -1. */
int cli_time_parse(const char *s, cli_time_t *t);
/** Formats as Go's RFC3339Nano (fraction trimmed), keeping the offset. */
void cli_time_rfc3339(const cli_time_t *t, char *out, size_t n);
/** Go's time.RFC822 ("02 Jan 06 15:04 MST") in the time's own offset; "UTC" for Z. */
void cli_time_rfc822(const cli_time_t *t, char *out, size_t n);
/** The same in the local time zone (Go's .Local()). */
void cli_time_rfc822_local(const cli_time_t *t, char *out, size_t n);
/** Now, in UTC. */
cli_time_t cli_time_now(void);
/** t + ns. */
cli_time_t cli_time_add(cli_time_t t, int64_t ns);

/** go-humanize Bytes (SI): "0 B", "512 B", "1.2 kB", "12 MB". */
void cli_humanize_bytes(uint64_t s, char *out, size_t n);

/* ---- output ---- */

/** Go's %q of a string (for DBRPs). */
void cli_go_quote(fa_buf_t *b, const char *s);
/** Go's %v of a var value as `kapacitor show` prints it; `type` decides durations and lists. */
void cli_var_value(fa_buf_t *b, const char *type, const json_t *v, bool required_marker);
#endif
