/* cmd/farad/cmd_record.c - record stream|batch|query, replay, replay-live batch|query.
 *
 * Each POSTs the body Kapacitor's client sends (201 expected), then, unless -no-wait, GETs the
 * returned link every 500 ms while the status is "running" (200 or 202 accepted), prints the ID
 * and fails with the recording's or replay's error when it ended "failed". */
#include "cmd/farad/cli.h"
#include "cmd/farad/cmds.h"

#include <string.h>
#include <time.h>

static const long OK_201[] = { 201, 0 };
static const long OK_200_202[] = { 200, 202, 0 };

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* the flags of the command being run */
static struct {
    const char *task, *duration, *id, *start, *stop, *past, *query, *type, *cluster, *recording;
    bool no_wait, real_clock, rec_time;
} o;

/* POSTs body to path, then waits for the resource unless no_wait; prints its ID. */
static int create_and_wait(const char *path, const fa_buf_t *body, bool no_wait, const char *what)
{
    json_t *r = NULL;
    cli_err_t err;
    char id[512];

    if (cli_request("POST", path, NULL, body, OK_201, &r, &err) != 0)
        return cli_fail(&err);
    for (int polls = 0; !no_wait && strcmp(cli_jstr(r, "status"), "running") == 0; polls++) {
        if (polls == CLI_POLL_MAX) {
            snprintf(id, sizeof id, "%s", cli_jstr(r, "id"));
            json_decref(r);
            cli_errf(&err, "%s %s still running after %d polls; giving up", what, id, CLI_POLL_MAX);
            return cli_fail(&err);
        }
        sleep_ms(CLI_POLL_MS);
        snprintf(id, sizeof id, "%s", cli_jstr(json_object_get(r, "link"), "href"));
        json_decref(r);
        if (cli_request("GET", id, NULL, NULL, OK_200_202, &r, &err) != 0)
            return cli_fail(&err);
    }
    printf("%s\n", cli_jstr(r, "id"));
    fflush(stdout);
    if (!no_wait && strcmp(cli_jstr(r, "status"), "failed") == 0) {
        const char *e = cli_jstr(r, "error");
        if (*e)
            cli_errf(&err, "%s", e);
        else
            cli_errf(&err, "%s failed: unknown reason", what);
        json_decref(r);
        return cli_fail(&err);
    }
    json_decref(r);
    return CLI_EXIT_OK;
}

static void put_time(cli_jw_t *w, const char *key, const cli_time_t *t)
{
    char s[64];
    cli_time_rfc3339(t, s, sizeof s);
    cli_jw_key(w, key);
    cli_jw_str(w, s);
}

static void put_opt(cli_jw_t *w, const char *key, const char *v)
{
    if (v != NULL && *v) {
        cli_jw_key(w, key);
        cli_jw_str(w, v);
    }
}

/* Builds the request's JSON object with build() (false: err says why), POSTs it to path and
 * waits as create_and_wait does. */
static int post_built(const char *path, int (*build)(cli_jw_t *, cli_err_t *), const char *what)
{
    fa_buf_t body = FA_BUF_INIT;
    cli_err_t err;
    cli_jw_t w;
    cli_jw_init(&w, &body);
    cli_jw_obj(&w);
    if (build(&w, &err) != 0) {
        fa_buf_deinit(&body);
        return cli_fail(&err);
    }
    cli_jw_end(&w, '}');
    cli_jw_finish(&w);
    int rc = create_and_wait(path, &body, o.no_wait, what);
    fa_buf_deinit(&body);
    return rc;
}

/* start/stop from -start/-past/-stop as the CLI computes them (stop defaults to now). */
static int batch_range(const char *start_s, const char *stop_s, const char *past_s, cli_time_t *start,
                       cli_time_t *stop, cli_err_t *err)
{
    *stop = cli_time_now();
    if (start_s != NULL && cli_time_parse(start_s, start) != 0)
        return cli_errf(err, "parsing time \"%s\" as RFC 3339: cannot parse", start_s);
    if (stop_s != NULL && cli_time_parse(stop_s, stop) != 0)
        return cli_errf(err, "parsing time \"%s\" as RFC 3339: cannot parse", stop_s);
    if (past_s != NULL) {
        int64_t ns;
        if (fa_duration_parse(fa_str_c(past_s), FA_DUR_INFLUXQL_PARSE, &ns) != 0)
            return cli_errf(err, "invalid duration %s", past_s);
        *start = cli_time_add(*stop, -ns);
    }
    return 0;
}

/* ---- record ---- */

static const cli_flag_t rs_flags[] = {
    { "duration", CLI_FLAG_STR, &o.duration, NULL, "How long to record the data stream." },
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the recording to finish." },
    { "recording-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this recording. If not set an random ID is chosen." },
    { "task", CLI_FLAG_STR, &o.task, NULL, "The ID of a task. Uses the dbrp value for the task." },
    { NULL, 0, NULL, NULL, NULL },
};

static const cli_flag_t rb_flags[] = {
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the recording to finish." },
    { "past", CLI_FLAG_STR, &o.past, NULL, "Set start time via 'now - past'." },
    { "recording-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this recording. If not set an random ID is chosen." },
    { "start", CLI_FLAG_STR, &o.start, NULL, "The start time for the set of queries." },
    { "stop", CLI_FLAG_STR, &o.stop, NULL, "The stop time for the set of queries (default now)." },
    { "task", CLI_FLAG_STR, &o.task, NULL, "The ID of a task. Uses the queries contained in the task." },
    { NULL, 0, NULL, NULL, NULL },
};

static const cli_flag_t rq_flags[] = {
    { "cluster", CLI_FLAG_STR, &o.cluster, NULL, "Optional named InfluxDB cluster from configuration." },
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the recording to finish." },
    { "query", CLI_FLAG_STR, &o.query, NULL, "The query to record." },
    { "recording-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this recording. If not set an random ID is chosen." },
    { "type", CLI_FLAG_STR, &o.type, NULL, "The type of the recording to save (stream|batch)." },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_record_usage(void)
{
    fputs("Usage: farad record [batch|stream|query] [options]\n\n"
          "\tRecord the result of a InfluxDB query or a snapshot of the live data stream.\n\n"
          "\tPrints the recording ID on exit.\n\n"
          "\tSee 'farad help replay' for how to replay a recording.\n",
          stderr);
}

static void rs_usage(void)
{
    fputs("Usage: farad record stream [options]\n\n\tRecord a snapshot of the live data stream.\n\n"
          "\tPrints the recording ID on exit.\n\nExamples:\n\n\t$ farad record stream -task mem_free -duration 1m\n\n"
          "Options:\n",
          stderr);
    cli_flags_print(rs_flags);
}

static void rb_usage(void)
{
    fputs("Usage: farad record batch [options]\n\n\tRecord the result of a InfluxDB query from a task.\n\n"
          "\tPrints the recording ID on exit.\n\nExamples:\n\n"
          "\t$ farad record batch -task cpu_idle -start 2015-09-01T00:00:00Z -stop 2015-09-02T00:00:00Z\n"
          "\t$ farad record batch -task cpu_idle -past 10h\n\nOptions:\n",
          stderr);
    cli_flags_print(rb_flags);
}

static void rq_usage(void)
{
    fputs("Usage: farad record query [options]\n\n\tRecord the result of a InfluxDB query.\n\n"
          "\tPrints the recording ID on exit.\n\n\tRecordings have types like tasks. you must specify the desired type.\n\n"
          "Examples:\n\n\t$ farad record query -query 'select value from \"telegraf\".\"autogen\".\"cpu_idle\" where "
          "time > now() - 1h' -type stream\n\nOptions:\n",
          stderr);
    cli_flags_print(rq_flags);
}

static int record_stream(cli_jw_t *w, cli_err_t *err)
{
    int64_t ns;
    if (o.task == NULL || o.duration == NULL || !*o.task || !*o.duration) {
        rs_usage();
        return cli_errf(err, "both task and duration are required");
    }
    if (fa_duration_parse(fa_str_c(o.duration), FA_DUR_INFLUXQL_PARSE, &ns) != 0)
        return cli_errf(err, "invalid duration %s", o.duration);
    cli_time_t stop = cli_time_add(cli_time_now(), ns);
    put_opt(w, "id", o.id);
    cli_jw_key(w, "task");
    cli_jw_str(w, o.task);
    put_time(w, "stop", &stop);
    return 0;
}

/* The body of a batch recording or live batch replay: task and the time range of its queries. */
static int batch_body(cli_jw_t *w, void (*usage)(void), cli_err_t *err)
{
    cli_time_t start, stop;
    if (o.task == NULL || !*o.task) {
        usage();
        return cli_errf(err, "task is required");
    }
    if ((o.start == NULL || !*o.start) && (o.past == NULL || !*o.past)) {
        usage();
        return cli_errf(err, "must set one of start or past flags.");
    }
    if (o.start != NULL && *o.start && o.past != NULL && *o.past) {
        usage();
        return cli_errf(err, "cannot set both start and past flags.");
    }
    if (batch_range(o.start, o.stop, o.past, &start, &stop, err) != 0)
        return -1;
    put_opt(w, "id", o.id);
    cli_jw_key(w, "task");
    cli_jw_str(w, o.task);
    put_time(w, "start", &start);
    put_time(w, "stop", &stop);
    return 0;
}

static int record_batch(cli_jw_t *w, cli_err_t *err) { return batch_body(w, rb_usage, err); }

static int record_query(cli_jw_t *w, cli_err_t *err)
{
    if (o.query == NULL || o.type == NULL || !*o.query || !*o.type) {
        rq_usage();
        return cli_errf(err, "both query and type are required");
    }
    if (strcmp(o.type, "stream") != 0 && strcmp(o.type, "batch") != 0)
        return cli_errf(err, "invalid type %s: must be stream or batch", o.type);
    put_opt(w, "id", o.id);
    cli_jw_key(w, "query");
    cli_jw_str(w, o.query);
    cli_jw_key(w, "type");
    cli_jw_str(w, o.type);
    put_opt(w, "cluster", o.cluster);
    return 0;
}

int cmd_record(int argc, char **argv)
{
    const cli_flag_t *flags;
    void (*usage)(void);
    int (*build)(cli_jw_t *, cli_err_t *);
    const char *path;
    cli_err_t err;
    int npos, rc;

    if (argc < 2) {
        cmd_record_usage();
        return CLI_EXIT_ARGS;
    }
    memset(&o, 0, sizeof o);
    if (strcmp(argv[1], "stream") == 0)
        flags = rs_flags, usage = rs_usage, build = record_stream, path = CLI_API "/recordings/stream";
    else if (strcmp(argv[1], "batch") == 0)
        flags = rb_flags, usage = rb_usage, build = record_batch, path = CLI_API "/recordings/batch";
    else if (strcmp(argv[1], "query") == 0)
        flags = rq_flags, usage = rq_usage, build = record_query, path = CLI_API "/recordings/query";
    else {
        cli_errf(&err, "Unknown record type \"%s\", expected 'stream', 'batch' or 'query'", argv[1]);
        return cli_fail(&err);
    }
    if ((rc = cli_flags_parse(flags, argc - 2, argv + 2, &npos, usage)) >= 0)
        return rc;
    return post_built(path, build, "recording");
}

/* ---- replay ---- */

static const cli_flag_t replay_flags[] = {
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the replay to finish." },
    { "real-clock", CLI_FLAG_BOOL, &o.real_clock, NULL,
      "If set, replay the data in real time. If not set replay data as fast as possible." },
    { "rec-time", CLI_FLAG_BOOL, &o.rec_time, NULL,
      "If set, use the times saved in the recording instead of present times." },
    { "recording", CLI_FLAG_STR, &o.recording, NULL, "The recording ID." },
    { "replay-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this replay. If not set a random ID is chosen." },
    { "task", CLI_FLAG_STR, &o.task, NULL, "The task ID." },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_replay_usage(void)
{
    fputs("Usage: farad replay [options]\n\nReplay a recording to a task. Prints the replay ID.\n\n"
          "The times of the data points will either be relative to now or the exact times\n"
          "in the recording if the '-rec-time' flag is set. In either case the relative times\n"
          "between the data points remains the same.\n\nOptions:\n",
          stderr);
    cli_flags_print(replay_flags);
}

static void replay_tail(cli_jw_t *w)
{
    cli_jw_key(w, "recording-time");
    cli_jw_bool(w, o.rec_time);
    cli_jw_key(w, "clock");
    cli_jw_str(w, o.real_clock ? "real" : "fast");
}

static int replay_body(cli_jw_t *w, cli_err_t *err)
{
    if (o.recording == NULL || !*o.recording) {
        cmd_replay_usage();
        return cli_errf(err, "must pass recording ID");
    }
    if (o.task == NULL || !*o.task) {
        cmd_replay_usage();
        return cli_errf(err, "must pass task ID");
    }
    cli_jw_key(w, "id"); /* always sent, "" meaning "choose one" */
    cli_jw_str(w, o.id ? o.id : "");
    cli_jw_key(w, "recording");
    cli_jw_str(w, o.recording);
    cli_jw_key(w, "task");
    cli_jw_str(w, o.task);
    replay_tail(w);
    return 0;
}

int cmd_replay(int argc, char **argv)
{
    int npos, rc;

    memset(&o, 0, sizeof o);
    if ((rc = cli_flags_parse(replay_flags, argc - 1, argv + 1, &npos, cmd_replay_usage)) >= 0)
        return rc;
    return post_built(CLI_API "/replays", replay_body, "replay");
}

/* ---- replay-live ---- */

static const cli_flag_t rlb_flags[] = {
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the replay to finish." },
    { "past", CLI_FLAG_STR, &o.past, NULL, "Set start time via 'now - past'." },
    { "real-clock", CLI_FLAG_BOOL, &o.real_clock, NULL,
      "If set, replay the data in real time. If not set replay data as fast as possible." },
    { "rec-time", CLI_FLAG_BOOL, &o.rec_time, NULL,
      "If set, use the times saved in the recording instead of present times." },
    { "replay-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this replay. If not set a random ID is chosen." },
    { "start", CLI_FLAG_STR, &o.start, NULL, "The start time for the set of queries." },
    { "stop", CLI_FLAG_STR, &o.stop, NULL, "The stop time for the set of queries (default now)." },
    { "task", CLI_FLAG_STR, &o.task, NULL, "The task ID." },
    { NULL, 0, NULL, NULL, NULL },
};

static const cli_flag_t rlq_flags[] = {
    { "cluster", CLI_FLAG_STR, &o.cluster, NULL, "Optional named InfluxDB cluster from configuration." },
    { "no-wait", CLI_FLAG_BOOL, &o.no_wait, NULL, "Do not wait for the replay to finish." },
    { "query", CLI_FLAG_STR, &o.query, NULL, "The query to replay." },
    { "real-clock", CLI_FLAG_BOOL, &o.real_clock, NULL,
      "If set, replay the data in real time. If not set replay data as fast as possible." },
    { "rec-time", CLI_FLAG_BOOL, &o.rec_time, NULL,
      "If set, use the times saved in the recording instead of present times." },
    { "replay-id", CLI_FLAG_STR, &o.id, NULL, "The ID to give to this replay. If not set a random ID is chosen." },
    { "task", CLI_FLAG_STR, &o.task, NULL, "The task ID." },
    { NULL, 0, NULL, NULL, NULL },
};

void cmd_replay_live_usage(void)
{
    fputs("Usage: farad replay-live <batch|query> [options]\n\n"
          "Replay data to a task directly without saving a recording.\n\n"
          "The command is a hybrid of the 'farad record batch|query' and 'farad replay' commands.\n",
          stderr);
}

static void rlb_usage(void)
{
    fputs("Usage: farad replay-live batch [options]\n\nReplay data from the queries in a batch task against the task.\n\n"
          "Options:\n",
          stderr);
    cli_flags_print(rlb_flags);
}

static void rlq_usage(void)
{
    fputs("Usage: farad replay-live query [options]\n\nReplay the result of a query against a task.\n\nOptions:\n",
          stderr);
    cli_flags_print(rlq_flags);
}

static int live_batch(cli_jw_t *w, cli_err_t *err)
{
    if (batch_body(w, rlb_usage, err) != 0)
        return -1;
    replay_tail(w);
    return 0;
}

static int live_query(cli_jw_t *w, cli_err_t *err)
{
    if (o.query == NULL || o.task == NULL || !*o.query || !*o.task) {
        rlq_usage();
        return cli_errf(err, "both query and task are required");
    }
    put_opt(w, "id", o.id);
    cli_jw_key(w, "task");
    cli_jw_str(w, o.task);
    cli_jw_key(w, "query");
    cli_jw_str(w, o.query);
    put_opt(w, "cluster", o.cluster);
    replay_tail(w);
    return 0;
}

int cmd_replay_live(int argc, char **argv)
{
    cli_err_t err;
    int npos, rc;
    bool batch;

    if (argc < 2) {
        cmd_replay_live_usage();
        return CLI_EXIT_ARGS;
    }
    memset(&o, 0, sizeof o);
    if (strcmp(argv[1], "batch") == 0)
        batch = true;
    else if (strcmp(argv[1], "query") == 0)
        batch = false;
    else {
        cli_errf(&err, "Unknown replay-live type \"%s\", expected 'batch' or 'query'", argv[1]);
        return cli_fail(&err);
    }
    if ((rc = cli_flags_parse(batch ? rlb_flags : rlq_flags, argc - 2, argv + 2, &npos, batch ? rlb_usage : rlq_usage)) >= 0)
        return rc;
    return post_built(batch ? CLI_API "/replays/batch" : CLI_API "/replays/query", batch ? live_batch : live_query, "replay");
}
