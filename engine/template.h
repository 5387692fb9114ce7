/* engine/template.h - the Go text/template subset alert templates are written in, with the data
 * Kapacitor gives them (idInfo, messageInfo, detailsInfo).
 *
 * Supported: text, {{ pipeline }}, {{- and -}} trim markers, comment actions, {{ if }} /
 * {{ else if }} / {{ else }} / {{ end }}, pipelines with `|`, parenthesised pipelines, fields
 * `.Name`, `.Tags.host`, `.ServerInfo.Hostname`, `.` and `$`, string ("..." and `...`), number,
 * bool and nil literals, and the functions index, json, eq, ne, lt, le, gt, ge, and, or, not,
 * len, print, printf (%v %s %d %f %e %g %t %q %x %%, flags, width, precision), println.
 * Not supported (a parse error names them): range, with, define, template, block, variables.
 *
 * A template is parsed once (into an arena, at task start) and rendered per event. Rendering
 * appends to a caller-owned fa_buf_t and keeps intermediate strings in a caller-owned scratch
 * arena, so it allocates nothing once the buffers have grown. In ENG_TMPL_HTML mode (the
 * details template, which Kapacitor runs through html/template) every action's output is
 * HTML-escaped; the template's own text is not. */
#ifndef ENGINE_TEMPLATE_H
#define ENGINE_TEMPLATE_H
#include <stdint.h>

#include "base/arena.h"
#include "base/str.h"
#include "engine/point.h"

typedef struct eng_tmpl eng_tmpl_t;

typedef enum eng_tmpl_mode {
    ENG_TMPL_TEXT = 0, /* text/template */
    ENG_TMPL_HTML,     /* html/template in a text context: actions' output escaped */
} eng_tmpl_mode_t;

/** Which of Kapacitor's template data structs the data stands for: each adds fields. */
typedef enum eng_tmpl_kind {
    ENG_TMPL_ID = 0,  /* idInfo: Name TaskName Group Tags ServerInfo */
    ENG_TMPL_MESSAGE, /* messageInfo: + ID Fields Level Time Duration */
    ENG_TMPL_DETAILS, /* detailsInfo: + Message */
} eng_tmpl_kind_t;

/** The data an alert template sees. Tags sorted by key; fields in any order. */
typedef struct eng_tmpl_data {
    eng_tmpl_kind_t kind;
    fa_str_t name, task_name, group;
    const eng_tag_t *tags;
    uint32_t n_tags;
    fa_str_t hostname, cluster_id, server_id; /* ServerInfo */
    fa_str_t id, level, message;
    const eng_field_t *fields;
    uint32_t n_fields;
    int64_t time, duration; /* ns */
} eng_tmpl_data_t;

/** A parse or render error: what, and where in the template (1-based line and column). */
typedef struct eng_tmpl_err {
    uint32_t line, col;
    char msg[160];
} eng_tmpl_err_t;

/** Parses `src` (copied into `a`). Returns the template, or NULL with err filled. */
eng_tmpl_t *eng_tmpl_parse(fa_arena_t *a, fa_str_t src, eng_tmpl_mode_t mode, eng_tmpl_err_t *err);
/** Appends the rendering to out. Strings made on the way (json, printf) live in scratch.
 * Returns 0, or -1 with err filled (e.g. a field the data kind does not have). */
int eng_tmpl_render(const eng_tmpl_t *t, const eng_tmpl_data_t *d, fa_arena_t *scratch, fa_buf_t *out,
                    eng_tmpl_err_t *err);
/** The data as `{{ json . }}` prints it (Go's encoding/json of the struct, fields in struct
 * order, maps sorted by key), appended to out. */
int eng_tmpl_data_json(const eng_tmpl_data_t *d, fa_buf_t *out);
#endif
