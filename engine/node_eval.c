/* engine/node_eval.c - eval(λ...): as (one name per expression), tags (names among `as` that
 * become tags), keep (all fields, or the listed ones), quiet (errors counted, not logged).
 * An expression sees the point's fields and tags and the results of the expressions before it.
 * An error drops the point and counts (KAPACITOR.md §10). */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "engine/lambda.h"
#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

struct eval_state {
    eng_lambda_t *exprs;
    fa_str_t *as;
    bool *is_tag;
    uint32_t n;
    bool keep, quiet;
    fa_str_t *keep_list;
    uint32_t n_keep;
};

static void set_err(tick_err_t *err, tick_pos_t pos, const char *msg)
{
    memset(err, 0, sizeof(*err));
    err->code = TICK_ETYPE;
    err->pos = pos;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static int eval_init(eng_node_t *n, tick_err_t *err)
{
    struct eval_state *s = n->state;
    const tick_call_t *c = n->spec->call;
    fa_arena_t *a = &n->task->arena;
    s->n = c->nargs;
    if (eng_prop_strs(n, "as", &s->as) != s->n) {
        set_err(err, n->spec->pos, "eval: must provide one name per expression via the 'as' property");
        return -1;
    }
    s->exprs = FA_NEW(a, eng_lambda_t, s->n ? s->n : 1);
    memset(s->exprs, 0, sizeof(eng_lambda_t) * (s->n ? s->n : 1));
    s->is_tag = FA_NEW(a, bool, s->n ? s->n : 1);
    memset(s->is_tag, 0, sizeof(bool) * (s->n ? s->n : 1));
    fa_str_t *tags;
    uint32_t nt = eng_prop_strs(n, "tags", &tags);
    for (uint32_t k = 0; k < nt; k++) {
        uint32_t i = 0;
        while (i < s->n && !fa_str_eq(s->as[i], tags[k]))
            i++;
        if (i == s->n) {
            char msg[160];
            snprintf(msg, sizeof msg, "eval: tag \"%.*s\" is not one of the 'as' names", (int)tags[k].len, tags[k].ptr);
            set_err(err, eng_node_prop(n, "tags")->pos, msg);
            return -1;
        }
        s->is_tag[i] = true;
    }
    s->keep = eng_prop_set(n, "keep");
    s->n_keep = eng_prop_strs(n, "keep", &s->keep_list);
    s->quiet = eng_prop_set(n, "quiet");
    for (uint32_t i = 0; i < s->n; i++)
        if (eng_lambda_compile(n, c->args[i], &s->exprs[i], err) != 0)
            return -1;
    return 0;
}

static void eval_fail(eng_node_t *n, const char *fmt, fa_str_t name, const char *why)
{
    struct eval_state *s = n->state;
    if (s->quiet) {
        atomic_fetch_add_explicit(&n->stats.errors, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&n->task->errors, 1, memory_order_relaxed);
        return;
    }
    eng_node_error(n, fmt, (int)name.len, name.ptr, why);
}

static const eng_value_t *find_value(const eng_field_t *f, uint32_t n, fa_str_t key)
{
    for (uint32_t i = 0; i < n; i++)
        if (fa_str_eq(f[i].key, key))
            return &f[i].v;
    return NULL;
}

/* the point's tags with `key` set to `value` (inserted in order or replaced), in scratch */
static void set_tag(fa_arena_t *a, eng_point_t *p, fa_str_t key, fa_str_t value)
{
    eng_tag_t *t = FA_NEW(a, eng_tag_t, p->n_tags + 1);
    uint32_t k = 0, i = 0;
    for (; i < p->n_tags && fa_str_cmp(p->tags[i].key, key) < 0; i++)
        t[k++] = p->tags[i];
    t[k++] = (eng_tag_t){ key, value };
    if (i < p->n_tags && fa_str_eq(p->tags[i].key, key))
        i++;
    for (; i < p->n_tags; i++)
        t[k++] = p->tags[i];
    p->tags = t;
    p->n_tags = k;
}

/* Evaluates every expression on in; fills out (in scratch). false = the point is dropped. */
static bool eval_one(eng_node_t *n, const eng_pt_t *in, eng_point_t *out)
{
    struct eval_state *s = n->state;
    fa_arena_t *a = &n->task->scratch;
    /* work: the results so far, then the point's own fields (a result hides a field) */
    eng_field_t *work = FA_NEW(a, eng_field_t, s->n + in->p.n_fields + 1);
    memcpy(work + s->n, in->p.fields, sizeof(eng_field_t) * in->p.n_fields);
    eng_pt_t cur = *in;
    uint32_t done = 0;
    *out = in->p;
    for (uint32_t i = 0; i < s->n; i++) {
        /* results live at work[s->n - done .. s->n): newest first */
        cur.p.fields = work + (s->n - done);
        cur.p.n_fields = done + in->p.n_fields;
        tick_value_t v;
        tick_err_t err;
        if (eng_lambda_eval(&s->exprs[i], n, &cur, &v, &err) != 0) {
            eval_fail(n, "failed to evaluate expression for %.*s: %s", s->as[i], err.msg);
            return false;
        }
        eng_value_t ev;
        if (!eng_value_from_tick(&v, &ev)) {
            eval_fail(n, "expression for %.*s gave a %s, which a field cannot hold", s->as[i], tick_vtype_name(v.type));
            return false;
        }
        if (s->is_tag[i] && ev.type != ENG_STRING) {
            eval_fail(n, "tag %.*s: value must be a string, got %s", s->as[i], tick_vtype_name(v.type));
            return false;
        }
        done++;
        work[s->n - done] = (eng_field_t){ s->as[i], ev };
        if (s->is_tag[i])
            set_tag(a, out, s->as[i], ev.s);
    }
    const eng_field_t *res = work; /* results in as order: res[s->n - 1 - i] is expression i */
    eng_field_t *f = FA_NEW(a, eng_field_t, s->n + in->p.n_fields + s->n_keep + 1);
    uint32_t nf = 0;
    if (s->keep && s->n_keep != 0) {
        for (uint32_t k = 0; k < s->n_keep; k++) {
            const eng_value_t *v = NULL;
            for (uint32_t i = 0; i < s->n && v == NULL; i++)
                if (!s->is_tag[i] && fa_str_eq(s->as[i], s->keep_list[k]))
                    v = &res[s->n - 1 - i].v;
            if (v == NULL)
                v = find_value(in->p.fields, in->p.n_fields, s->keep_list[k]);
            if (v == NULL) {
                eval_fail(n, "cannot keep field \"%.*s\"%s, field does not exist", s->keep_list[k], "");
                return false;
            }
            f[nf++] = (eng_field_t){ s->keep_list[k], *v };
        }
    } else {
        if (s->keep)
            for (uint32_t j = 0; j < in->p.n_fields; j++)
                f[nf++] = in->p.fields[j];
        for (uint32_t i = 0; i < s->n; i++) {
            if (s->is_tag[i])
                continue;
            const eng_field_t *r = &res[s->n - 1 - i];
            uint32_t j = 0;
            while (j < nf && !fa_str_eq(f[j].key, r->key))
                j++;
            f[j] = *r;
            if (j == nf)
                nf++;
        }
    }
    out->fields = f;
    out->n_fields = nf;
    out->key = FA_STR_NULL;
    return true;
}

static void eval_point(eng_node_t *n, eng_node_t *from, const eng_pt_t *p)
{
    eng_pt_t out = *p;
    if (eval_one(n, p, &out.p))
        eng_emit_point(n, &out);
}

static void eval_rows(eng_node_t *n, eng_node_t *from, const eng_rows_t *b)
{
    eng_rows_t out = *b;
    out.points = FA_NEW(&n->task->scratch, eng_point_t, b->n ? b->n : 1);
    out.n = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        eng_pt_t p = { .p = b->points[i], .group = b->group, .dims = b->dims };
        if (eval_one(n, &p, &out.points[out.n]))
            out.n++;
    }
    eng_emit_rows(n, &out);
}

static void eval_deinit(eng_node_t *n)
{
    struct eval_state *s = n->state;
    for (uint32_t i = 0; s->exprs != NULL && i < s->n; i++)
        eng_lambda_release(&s->exprs[i]);
}

const eng_node_ops_t eng_node_eval = { .type = "eval",
                                       .state_size = sizeof(struct eval_state),
                                       .init = eval_init,
                                       .point = eval_point,
                                       .rows = eval_rows,
                                       .deinit = eval_deinit };
