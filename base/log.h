/* base/log.h - leveled logging: one write() per line, repeated messages rate-limited. */
#ifndef BASE_LOG_H
#define BASE_LOG_H

typedef enum fa_log_level { FA_ERROR = 0, FA_WARN = 1, FA_INFO = 2, FA_DEBUG = 3 } fa_log_level_t;

extern int fa_log_level; /* read without a lock: a stale level for one line is harmless */

#define FA_LOG(lvl, ...)                                                                                               \
    do {                                                                                                               \
        if ((int)(lvl) <= fa_log_level)                                                                                \
            fa_log_emit((lvl), __FILE__, __LINE__, __VA_ARGS__);                                                       \
    } while (0)

/** Formats into a stack buffer and writes one line to the log fd. At most `burst` lines per
 * call site (file:line) per second; the number suppressed is reported with the next line. */
void fa_log_emit(fa_log_level_t lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** 0, or -1 for an unknown name. Names: error, warn, info, debug (Kapacitor also says "warning"). */
int fa_log_level_parse(const char *name, int *out);
const char *fa_log_level_name(int lvl);
/** Where lines go (default 2). */
void fa_log_set_fd(int fd);
#endif
