/* base/conf.h - faradd's configuration: one key table (conf.c) drives parsing, validation, the
 * defaults printed by `faradd config`, and the docs. Precedence, lowest first: built-in default,
 * YAML file, FARAD_* environment variables, command-line flags. Every limit has a finite default. */
#ifndef BASE_CONF_H
#define BASE_CONF_H
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

typedef struct fa_conf {
    /* strings are heap-owned by the conf; fa_conf_deinit frees them */
    char *data_dir;                 /* data_dir: run files, embedded PostgreSQL later */
    char *log_level;                /* log.level: error|warn|info|debug */
    /* proxy listener: the InfluxDB API */
    char *proxy_bind;               /* proxy.bind ":8086" */
    uint64_t proxy_threads;         /* proxy.threads: event loops, 0 = one per core */
    uint64_t proxy_max_body;        /* proxy.max_body: bytes as received (InfluxDB's 25000000) */
    uint64_t proxy_max_decoded;     /* proxy.max_decoded_body: bound on a gunzipped body */
    /* API listener: Kapacitor-compatible API, subscription target, /debug/vars */
    char *api_bind;                 /* api.bind ":9092" */
    uint64_t api_max_body;          /* api.max_body: bytes of a task API request body */
    /* upstream InfluxDB */
    char *upstream_url;             /* upstream.url "http://127.0.0.1:8087" */
    uint64_t upstream_connect_timeout_ms; /* upstream.connect_timeout */
    uint64_t upstream_timeout_ms;   /* upstream.timeout: per read/write on the socket */
    uint64_t upstream_pool;         /* upstream.pool: kept-alive connections per event loop */
    /* the tee */
    char *tee_dbrps;                /* tee.dbrps: comma-separated "db.rp" (or "db.*", "*"), "" = none */
    char *tee_default_rp;           /* tee.default_rp: rp a write without one is counted under */
    uint64_t tee_ring_slots;        /* tee.ring_slots: per event loop, power of two */
    uint64_t tee_batch_limit;       /* tee.batch_limit: bytes of one parsed batch's arena */
    /* the engine (issue 4) */
    uint64_t engine_threads;        /* engine.threads: threads that run tasks */
    uint64_t engine_queue_size;     /* engine.queue_size: batches per task input queue, power of two */
    uint64_t engine_backlog;        /* engine.backlog: batches held past a full queue (block policy) */
    char *engine_overflow;          /* engine.overflow: drop|block, for tasks loaded from load.dir */
    uint64_t engine_idle_flush_ms;  /* engine.idle_flush: wall-clock idle flush of loaded tasks, 0 = off */
    uint64_t engine_stall_timeout_ms; /* engine.stall_timeout: a thread this long in one task is stalled */
    char *load_dir;                 /* load.dir: Kapacitor's [load] layout (DIR/tasks/NAME.tick); "" = none */
    char *httppost_endpoints;       /* httppost.endpoints: "name=url,name2=url2" (Kapacitor's [[httppost]]) */
    /* the PostgreSQL store (recorder/) */
    char *pg_dsn;                   /* pg.dsn (flag -pg): libpq connection string or URI, "" = none */
    uint64_t pg_queue;              /* pg.queue: requests waiting for the store thread at most */
    uint64_t pg_reconnect_max_ms;   /* pg.reconnect_max: longest pause between reconnect attempts */
    uint64_t record_stream_buffer;  /* record.stream_buffer: bytes a stream recording stages between writes */
    /* subscriptions: farad as an InfluxDB subscription target (issue 7), like Kapacitor's [influxdb] */
    uint64_t subs_enabled;          /* subs.enabled (-subscribe): link subscriptions on the upstream */
    char *subs_name;                /* subs.name: "" = farad-<id>, the id persisted in data_dir/subs.id */
    char *subs_advertise;           /* subs.advertise (-advertise): "" = http://<api host or hostname>:<api port> */
    char *subs_mode;                /* subs.mode: ANY|ALL */
    char *subs_include;             /* subs.include: db.rp list subscribed ("*" = all) */
    char *subs_exclude;             /* subs.exclude: db.rp list never subscribed */
    uint64_t subs_sync_interval_ms; /* subs.sync_interval */
    uint64_t subs_startup_timeout_ms; /* subs.startup_timeout: then warn, keep retrying at the sync interval */
    uint64_t subs_drop_on_stop;     /* subs.drop_on_stop: drop ours on a clean shutdown */
    uint64_t subs_drop_stale;       /* subs.drop_stale: every sync drops dead farad-* subscriptions of others */
    char *subs_username;            /* subs.username: for the upstream's /query, "" = none */
    char *subs_password;            /* subs.password */
} fa_conf_t;

typedef enum fa_conf_type {
    FA_CONF_STR,
    FA_CONF_UINT,     /* plain integer */
    FA_CONF_SIZE,     /* bytes: 1024, 64KB, 32MB, 1GiB ... (KB = 1000, KiB = 1024) */
    FA_CONF_DURATION, /* stored in ms: 500ms, 10s, 5m, 1h, or a plain number of ms */
    FA_CONF_BOOL,     /* stored as 0 or 1: true|false|yes|no|on|off|1|0; a bare -flag means true */
} fa_conf_type_t;

typedef struct fa_conf_key {
    const char *name;   /* dotted YAML path: "proxy.max_body" */
    const char *flag;   /* command-line flag without the dash, e.g. "proxy-bind"; NULL = derived */
    fa_conf_type_t type;
    size_t offset;      /* into fa_conf_t */
    const char *def;    /* default, as text in the key's own syntax */
    uint64_t min, max;  /* for numeric keys; max 0 = no maximum */
    const char *doc;    /* one line, printed by `faradd config` */
    /* extra validation after parsing and the range check, NULL = none: 0, or -1 with `why`
     * filled (lower case, without the key name), e.g. "1000 is not a power of two".
     * `text` is the value as given; `num` its parsed number (0 for strings). */
    int (*check)(const char *text, uint64_t num, char *why, size_t whylen);
} fa_conf_key_t;

/** The table, terminated by a NULL name. */
extern const fa_conf_key_t fa_conf_keys[];

/** Fills every key with its default. */
void fa_conf_init(fa_conf_t *c);
void fa_conf_deinit(fa_conf_t *c);

/** Each returns 0, or -1 with `err` holding e.g. "farad.yml:12: proxy.threads: 0 is below the minimum 1". */
int fa_conf_load_file(fa_conf_t *c, const char *path, char *err, size_t errlen);
/** Reads FARAD_<KEY> for each key (dots and dashes -> '_', upper case): FARAD_PROXY_MAX_BODY. */
int fa_conf_load_env(fa_conf_t *c, char *const *envp, char *err, size_t errlen);
/** Sets one key by name (dotted) or flag name; `source` prefixes errors (a file:line, "-flag", "FARAD_X").
 * After a file:line the key's name follows ("farad.yml:3: proxy.threads: 100 is above the maximum
 * 64"); a "-flag" or "FARAD_X" source names the key itself ("-proxy-threads: 100 is above ...").
 * source NULL: "-flag" when called with a flag name, else just the key's name. On error the
 * value is left as it was. */
int fa_conf_set(fa_conf_t *c, const char *key_or_flag, const char *value, const char *source, char *err, size_t errlen);
/** Looks a flag up ("proxy-bind" or "-proxy-bind"): the key, or NULL. */
const fa_conf_key_t *fa_conf_find_flag(const char *flag);
/** Writes the configuration as YAML, with each key's doc as a comment (`faradd config`). */
int fa_conf_dump(const fa_conf_t *c, fa_buf_t *out);
#endif
