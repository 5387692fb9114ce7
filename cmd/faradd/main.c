/* cmd/faradd/main.c - faradd: wires configuration, the ingest thread and the HTTP front end,
 * then waits for a signal.
 *
 *   faradd [run] [-config FILE] [-FLAG VALUE ...]   run (flags: see `faradd config`)
 *   faradd config [-config FILE] [-FLAG VALUE ...]  print the effective configuration as YAML
 *   faradd version                                  print the version */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/mem.h"
#include "engine/alert_handlers.h"
#include "engine/defs.h"
#include "engine/engine.h"
#include "engine/scheduler.h"
#include "engine/taskmaster.h"
#include "proxy/outwriter.h"
#include "proxy/proxy.h"
#include "recorder/record.h"
#include "recorder/recorder.h"

extern char **environ;

static void usage(FILE *f)
{
    fputs("usage: faradd [run|config|version] [-config FILE] [-KEY VALUE ...]\n"
          "  run       run the daemon (the default)\n"
          "  config    print the effective configuration (defaults, file, FARAD_* and flags) as YAML\n"
          "  version   print the version\n"
          "Flags: -proxy-bind HOST:PORT, -api-bind HOST:PORT, -upstream URL, -data-dir DIR, -log-level LEVEL,\n"
          "-subscribe (link as an InfluxDB subscription target), -advertise URL (where InfluxDB pushes),\n"
          "and one flag per configuration key (`faradd config` lists the keys; proxy.max_body is -proxy-max-body).\n",
          f);
}

/* Loads the configuration in precedence order: defaults < file < FARAD_* < flags. */
static int load_conf(fa_conf_t *c, int argc, char **argv, int first)
{
    char err[512];
    const char *file = NULL;
    for (int i = first; i < argc; i++)
        if ((strcmp(argv[i], "-config") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            file = argv[i + 1];
    fa_conf_init(c);
    if (file != NULL && fa_conf_load_file(c, file, err, sizeof err) != 0)
        goto Error;
    if (fa_conf_load_env(c, environ, err, sizeof err) != 0)
        goto Error;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-config") == 0 || strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        const char *name = a[0] == '-' ? a + (a[1] == '-' ? 2 : 1) : NULL;
        const char *eq = name ? strchr(name, '=') : NULL;
        char flag[128];
        if (name == NULL) {
            fprintf(stderr, "faradd: %s: expected -FLAG VALUE\n", a);
            usage(stderr);
            return -1;
        }
        snprintf(flag, sizeof flag, "%.*s", (int)(eq ? (size_t)(eq - name) : strlen(name)), name);
        const fa_conf_key_t *key = fa_conf_find_flag(flag);
        if (key == NULL) {
            fprintf(stderr, "faradd: unknown flag -%s (see `faradd config` for the keys)\n", flag);
            return -1;
        }
        /* a boolean flag alone (-subscribe) means true */
        bool bare = eq == NULL && key->type == FA_CONF_BOOL && (i + 1 >= argc || argv[i + 1][0] == '-');
        if (eq == NULL && !bare && i + 1 >= argc) {
            fprintf(stderr, "faradd: %s: expected -FLAG VALUE\n", a);
            usage(stderr);
            return -1;
        }
        const char *value = eq ? eq + 1 : bare ? "true" : argv[++i];
        char source[140];
        snprintf(source, sizeof source, "-%s", flag);
        if (fa_conf_set(c, flag, value, source, err, sizeof err) != 0)
            goto Error;
    }
    return 0;
Error:
    fprintf(stderr, "faradd: %s\n", err);
    return -1;
}

/* Record and replay find tasks among the running ones (enabled ones; defined ones are read from farad.tasks). */
static int lookup_task(void *ud, const char *id, fa_arena_t *a, const char **script, eng_dbrp_t **dbrps, uint32_t *n)
{
    return eng_tm_task_source(ud, id, a, script, dbrps, n);
}

/* Reads the load directory (blocking is fine here) and hands it to the API thread. */
static void load_dir(const fa_conf_t *c, proxy_server_t *srv)
{
    char err[512];
    if (*c->load_dir == '\0')
        return;
    eng_load_t *l = eng_load_read(c->load_dir, err, sizeof err);
    if (l == NULL) {
        FA_LOG(FA_ERROR, "%s", err);
        return;
    }
    FA_LOG(FA_INFO, "load.dir %s: %u templates and %u tasks read", c->load_dir, l->n_templates, l->n_tasks);
    proxy_server_load(srv, l);
}

static int run(fa_conf_t *c)
{
    eng_sched_t *sched = NULL; /* before any goto Exit */
    rec_rr_t *rr = NULL; /* recordings and replays */
    char err[512];
    int level, rc = 1;
    if (fa_log_level_parse(c->log_level, &level) == 0)
        fa_log_level = level;

    /* every thread inherits this mask; the main thread alone takes the signals, with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    eng_ingest_t *ingest = eng_ingest_new(proxy_server_ports_needed(c), (unsigned)c->tee_ring_slots);
    if (ingest == NULL)
        return 1;
    eng_tm_opts_t tmo = { .threads = (unsigned)c->engine_threads, .queue_size = (unsigned)c->engine_queue_size,
                          .backlog = (unsigned)c->engine_backlog, .stall_ns = (int64_t)c->engine_stall_timeout_ms * 1000000 };
    eng_tm_t *tm = eng_tm_new(ingest, &tmo, err, sizeof err);
    if (tm == NULL) {
        fprintf(stderr, "faradd: %s\n", err);
        eng_ingest_free(ingest);
        return 1;
    }
    /* what tasks reach the world through: influxDBOut -> the upstream writer, alert handlers
     * -> the handler service (its own threads), log()/httpOut and alert events -> log lines */
    eng_env_t env = eng_log_env;
    char hostname[256] = "localhost";
    gethostname(hostname, sizeof hostname - 1);
    eng_alert_svc_conf_t asc = { .hostname = hostname };
    env.alert_svc = eng_alert_svc_new(&asc);
    env.httppost_endpoints = c->httppost_endpoints;
    proxy_outwriter_t *ow = proxy_outwriter_new(c, err, sizeof err);
    if (ow == NULL || env.alert_svc == NULL) {
        fprintf(stderr, "faradd: %s\n", ow == NULL ? err : "cannot start the alert handler service");
        return 1;
    }
    proxy_outwriter_env(ow, &env);
    proxy_server_t *srv = proxy_server_new(c, ingest, err, sizeof err);
    if (srv == NULL) {
        fprintf(stderr, "faradd: %s\n", err);
        eng_tm_free(tm);
        eng_alert_svc_free(env.alert_svc);
        proxy_outwriter_free(ow);
        eng_ingest_free(ingest);
        return 1;
    }
    /* task definitions: the API thread owns the registry; with pg.dsn they live in PostgreSQL too */
    eng_task_opts_t to = { .overflow = strcmp(c->engine_overflow, "block") == 0 ? ENG_OVERFLOW_BLOCK : ENG_OVERFLOW_DROP,
                           .idle_flush_ns = (int64_t)c->engine_idle_flush_ms * 1000000, .thread = -1 };
    eng_defs_t *defs = eng_defs_new(tm, &env, &to);
    rec_store_t *store = NULL;
    eng_defstore_t defstore;
    if (*c->pg_dsn) {
        rec_store_opts_t so = { .dsn = c->pg_dsn, .queue_cap = (uint32_t)c->pg_queue,
                                .reconnect_max_ms = (uint32_t)c->pg_reconnect_max_ms };
        if ((store = rec_store_new(&so, err, sizeof err)) == NULL) {
            fprintf(stderr, "faradd: pg.dsn: %s\n", err);
            goto Exit;
        }
        rec_defstore_init(&defstore, store);
    }
    /* recordings and replays (issue 6): need PostgreSQL */
    eng_rr_svc_t rr_svc;
    if (*c->pg_dsn) {
        rec_rr_opts_t ro = { .dsn = c->pg_dsn, .tm = tm, .lookup = lookup_task, .lookup_ud = tm, .env = &env,
                             .upstream_url = c->upstream_url, .stream_buffer = (size_t)c->record_stream_buffer };
        if ((rr = rec_rr_new(&ro, err, sizeof err)) == NULL) {
            fprintf(stderr, "faradd: %s\n", err);
            goto Exit;
        }
        rr_svc = rec_rr_svc(rr);
        proxy_server_set_rr(srv, &rr_svc);
    }
    proxy_server_set_defs(srv, tm, defs, store ? &defstore : NULL);
    load_dir(c, srv);
    if (eng_ingest_start(ingest) != 0 || eng_tm_start(tm) != 0 || proxy_server_start(srv) != 0) {
        fprintf(stderr, "faradd: cannot start threads\n");
        goto Exit;
    }
    /* batch tasks: their queries go to the upstream on the scheduler's own thread (libcurl);
     * upstream.timeout bounds each query */
    eng_qclient_t *qc = eng_qclient_http_new(c->upstream_url, NULL, NULL, err, sizeof err);
    eng_sched_opts_t so = { .timeout_ns = (int64_t)c->upstream_timeout_ms * 1000000 };
    if (qc == NULL || (sched = eng_sched_new(tm, qc, &so, err, sizeof err)) == NULL || eng_sched_start(sched) != 0) {
        fprintf(stderr, "faradd: batch scheduler: %s\n", qc == NULL || sched == NULL ? err : "cannot start its thread");
        goto Exit;
    }
    FA_LOG(FA_INFO, "faradd %s: proxy on %s (port %d) to upstream %s, API on %s (port %d), tee %s", FARAD_VERSION,
           c->proxy_bind, proxy_server_proxy_port(srv), c->upstream_url, c->api_bind, proxy_server_api_port(srv),
           *c->tee_dbrps ? c->tee_dbrps : "(none)");
    for (;;) {
        int sig = 0;
        sigwait(&set, &sig);
        if (sig == SIGHUP) {
            FA_LOG(FA_INFO, "SIGHUP: reloading %s", *c->load_dir ? c->load_dir : "(no load.dir)");
            load_dir(c, srv);
            continue;
        }
        FA_LOG(FA_INFO, "signal %d: shutting down", sig);
        break;
    }
    rc = 0;
Exit:
    eng_sched_free(sched); /* stops watching the task master before it goes */
    proxy_server_stop(srv);
    rec_rr_free(rr); /* before the task master: its stream recordings are tasks there */
    eng_ingest_stop(ingest);
    eng_defs_free(defs); /* the API thread is gone; running tasks belong to the task master */
    eng_tm_free(tm); /* after the ingest drained its rings: the tasks run what is queued */
    eng_alert_svc_free(env.alert_svc); /* after the tasks: waits for events in flight */
    proxy_outwriter_free(ow);          /* sends what the tasks queued */
    rec_store_free(store);
    proxy_server_free(srv);
    eng_ingest_free(ingest);
    return rc;
}

int main(int argc, char **argv)
{
    fa_tune_malloc();
    const char *cmd = argc > 1 && argv[1][0] != '-' ? argv[1] : "run";
    int first = argc > 1 && argv[1][0] != '-' ? 2 : 1;
    fa_conf_t conf;
    int rc;

    if (strcmp(cmd, "version") == 0) {
        printf("faradd %s\n", FARAD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "config") != 0) {
        fprintf(stderr, "faradd: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    if (load_conf(&conf, argc, argv, first) != 0)
        return 2;
    if (strcmp(cmd, "config") == 0) {
        fa_buf_t out = FA_BUF_INIT;
        fa_conf_dump(&conf, &out);
        fwrite(out.ptr, 1, out.len, stdout);
        fa_buf_deinit(&out);
        rc = 0;
    } else {
        rc = run(&conf);
    }
    fa_conf_deinit(&conf);
    return rc;
}
