/* tick/dot.c - the checked pipeline as GraphViz DOT, with Kapacitor's node names:
 *   digraph name {
 *   stream0 -> from1;
 *   }
 * A hook may add attributes per node (e.g. stats); then each node gets a `name [attrs];` line
 * before its edges, as `kapacitor show` prints them. */
#include <string.h>
#include "tick/tick.h"

static int node_attrs(const tick_pnode_t *n, tick_dot_attr_fn hook, void *ctx, fa_buf_t *out)
{
    char name[48];
    size_t mark = out->len;
    int rc = fa_buf_appendf(out, "%s [", tick_pnode_name(n, name, sizeof name));
    size_t body = out->len;

    if (rc == 0)
        rc = hook(ctx, n, out);
    if (rc != 0)
        return rc;
    if (out->len == body) { /* the hook added nothing: no attribute line */
        out->len = mark;
        return 0;
    }
    return fa_buf_append_c(out, " ];\n");
}

int tick_dot(const tick_pipeline_t *p, const char *name, tick_dot_attr_fn hook, void *ctx, fa_buf_t *out)
{
    char pn[48], cn[48];
    int rc = fa_buf_appendf(out, "digraph %s {\n", name);

    for (uint32_t i = 0; rc == 0 && i < p->n; i++) {
        const tick_pnode_t *n = p->nodes[i];
        if (hook)
            rc = node_attrs(n, hook, ctx, out);
        for (uint32_t j = 0; rc == 0 && j < n->nchildren; j++)
            rc = fa_buf_appendf(out, "%s -> %s;\n", tick_pnode_name(n, pn, sizeof pn),
                                tick_pnode_name(n->children[j], cn, sizeof cn));
    }
    return rc ? rc : fa_buf_append_c(out, "}\n");
}
