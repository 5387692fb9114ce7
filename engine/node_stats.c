/* engine/node_stats.c - stats(interval): every interval, one point per group of the watched node
 * (tick_pnode_t.watch) with its `emitted` count so far: name "stats", the group's tags, field
 * emitted (int). With no group seen yet, one point with emitted=0.
 *
 * Kapacitor ticks on the wall clock. Here time is the data's time (DESIGN.md): the node taps the
 * task's source, so every point entering the task moves its clock, and advance(now) (idle flush,
 * end of a replay) moves it too; a live task that got no data for one interval is ticked with the
 * wall clock (wall_tick: the task master calls eng_task_tick), so a deadman fires when every
 * series stopped, as in Kapacitor; a tick is emitted for every interval boundary passed, so a
 * deadman sees 0 points per interval while data for other series still flows. .align() puts
 * ticks on multiples of the interval (from Go's zero time, as Kapacitor); otherwise they are
 * counted from the first time seen. A tap on the watched node counts its output per group. */
#include <stdio.h>
#include <string.h>

#include "engine/nodes.h"
#include "engine/nodeutil.h"
#include "engine/props.h"

enum { MAX_CATCH_UP = 1000 }; /* ticks emitted at most for one jump in time */

struct st_group {
    uint64_t emitted;
    const eng_dims_t *dims;
    eng_tag_t *tags; /* the group's tags, in the task arena */
    uint32_t n_tags;
    fa_str_t name;
};

struct stats_state {
    int64_t interval, next;
    bool align, started;
    eng_node_t *watched;
    eng_node_t tap_count, tap_clock;
    eng_gmap_t groups; /* group -> struct st_group */
};

static void add_child(eng_task_t *t, eng_node_t *parent, eng_node_t *c, bool first)
{
    eng_node_t **kids = FA_NEW(&t->arena, eng_node_t *, parent->n_children + 1);
    uint32_t k = 0;
    if (first)
        kids[k++] = c;
    for (uint32_t i = 0; i < parent->n_children; i++)
        kids[k++] = parent->children[i];
    if (!first)
        kids[k++] = c;
    parent->children = kids;
    parent->n_children = k;
}

static void count(eng_node_t *sn, uint64_t group, const eng_dims_t *dims, const eng_point_t *gp)
{
    struct stats_state *s = sn->state;
    bool created;
    struct st_group *g = eng_gmap_get(&s->groups, group, &created);
    if (g == NULL)
        return;
    if (created) {
        fa_arena_t *a = &sn->task->arena;
        g->dims = dims;
        g->tags = FA_NEW(a, eng_tag_t, dims != NULL && dims->n ? dims->n : 1);
        for (uint32_t i = 0; dims != NULL && i < dims->n; i++) {
            fa_str_t v = eng_point_tag(gp, dims->tags[i]);
            g->tags[g->n_tags++] = (eng_tag_t){ dims->tags[i], fa_str(fa_arena_strndup(a, v.ptr ? v.ptr : "", v.len), v.len) };
        }
    }
    g->emitted++;
}

static void tap_count_point(eng_node_t *tap, eng_node_t *from, const eng_pt_t *p) { count(tap->state, p->group, p->dims, &p->p); }

static void tap_count_rows(eng_node_t *tap, eng_node_t *from, const eng_rows_t *b)
{
    eng_point_t gp = { .name = b->name, .tags = b->tags, .n_tags = b->n_tags };
    count(tap->state, b->group, b->dims, &gp);
}

static const eng_node_ops_t tap_count_ops = { .type = "stats_tap", .point = tap_count_point, .rows = tap_count_rows };

static void emit_tick(eng_node_t *n, int64_t t)
{
    struct stats_state *s = n->state;
    eng_field_t f = { FA_STR_LIT("emitted"), { .type = ENG_INT } };
    eng_pt_t p = { .p = { .name = FA_STR_LIT("stats"), .fields = &f, .n_fields = 1, .time = t } };
    if (s->groups.n == 0) {
        eng_emit_point(n, &p);
        return;
    }
    for (uint32_t i = 0; i < s->groups.n; i++) {
        const struct st_group *g = eng_gmap_at(&s->groups, i);
        f.v.i = (int64_t)g->emitted;
        p.p.tags = g->tags;
        p.p.n_tags = g->n_tags;
        p.group = eng_gmap_key_at(&s->groups, i);
        p.dims = g->dims;
        eng_emit_point(n, &p);
    }
}

static int64_t first_tick(const struct stats_state *s, int64_t t)
{
    return s->align ? eng_go_truncate(t, s->interval) + s->interval : t + s->interval;
}

static void clock_to(eng_node_t *n, int64_t t)
{
    struct stats_state *s = n->state;
    if (!s->started) {
        s->started = true;
        s->next = first_tick(s, t);
        return;
    }
    for (int k = 0; t >= s->next && k < MAX_CATCH_UP; k++) {
        emit_tick(n, s->next);
        s->next += s->interval;
    }
    if (t >= s->next)
        s->next = first_tick(s, t);
}

static void tap_clock_point(eng_node_t *tap, eng_node_t *from, const eng_pt_t *p) { clock_to(tap->state, p->p.time); }

static void tap_clock_rows(eng_node_t *tap, eng_node_t *from, const eng_rows_t *b) { clock_to(tap->state, b->tmax); }

static const eng_node_ops_t tap_clock_ops = { .type = "stats_clock", .point = tap_clock_point, .rows = tap_clock_rows };

static void init_tap(eng_node_t *tap, eng_node_t *n, const eng_node_ops_t *ops, eng_node_t *parent)
{
    memset(tap, 0, sizeof(*tap));
    tap->ops = ops;
    tap->spec = n->spec;
    tap->task = n->task;
    tap->id = UINT32_MAX;
    snprintf(tap->name, sizeof tap->name, "%.30s_tap", n->name);
    tap->state = n;
    tap->parents = FA_NEW(&n->task->arena, eng_node_t *, 1);
    tap->parents[0] = parent;
    tap->n_parents = 1;
}

static int stats_init(eng_node_t *n, tick_err_t *err)
{
    struct stats_state *s = n->state;
    eng_task_t *t = n->task;
    s->interval = eng_expr_int(n->spec->call->args[0]);
    if (s->interval <= 0 || n->spec->watch == NULL) {
        memset(err, 0, sizeof(*err));
        err->code = TICK_ETYPE;
        err->pos = n->spec->pos;
        snprintf(err->msg, sizeof err->msg, "stats: %s", s->interval <= 0 ? "interval must be positive" : "no node to watch");
        return -1;
    }
    s->align = eng_prop_set(n, "align");
    eng_gmap_init(&s->groups, sizeof(struct st_group));
    s->watched = &t->nodes[n->spec->watch->id];
    init_tap(&s->tap_count, n, &tap_count_ops, s->watched);
    add_child(t, s->watched, &s->tap_count, false);
    init_tap(&s->tap_clock, n, &tap_clock_ops, &t->nodes[0]);
    add_child(t, &t->nodes[0], &s->tap_clock, true); /* first: a tick counts only earlier points */
    return 0;
}

static void stats_advance(eng_node_t *n, int64_t now) { clock_to(n, now); }

static int64_t stats_wall_tick(const eng_node_t *n) { return ((const struct stats_state *)n->state)->interval; }

static void stats_deinit(eng_node_t *n) { eng_gmap_deinit(&((struct stats_state *)n->state)->groups); }

const eng_node_ops_t eng_node_stats = { .type = "stats",
                                        .state_size = sizeof(struct stats_state),
                                        .init = stats_init,
                                        .advance = stats_advance,
                                        .wall_tick = stats_wall_tick,
                                        .deinit = stats_deinit };
