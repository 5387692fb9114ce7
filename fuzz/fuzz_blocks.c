/* fuzz/fuzz_blocks.c - libFuzzer driver for the block reader (recorder/blocks_read.c,
 * blocks_decode.c) through its in-memory source, rec_blocks_open_mem: the same code that decodes
 * the rows of a binary COPY TO from PostgreSQL.
 * Byte 0 picks the mode:
 * - even: arbitrary messages. Byte 1: bit 0 = a valid COPY header message goes first, bit 1 = a
 *   last seq; byte 2: the first seq read; byte 3: points per call; then messages, each a big-endian u16 length and its
 *   bytes. Every call must give a clean error or well-formed points (in seq order, one source per
 *   call, every string readable).
 * - odd: round trip. The rest builds a stage of a few points (sources, series with tags, fields of
 *   each type, keys absent from some points, a key given twice), rec_blocks_encode encodes it,
 *   rec_blocks_as_read turns it into the messages a read would receive, and they are read back: the
 *   points must come back equal (seq order, times, tags, fields with types, floats bit for bit).
 *   With FARAD_BLOCKS_SEEDS set to a directory, each round trip also writes its messages there as an
 *   input of the first mode (seed corpus for it).
 * FARAD_BLOCKS_MODE=messages (or trip) runs every input in that mode. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "recorder/blocks_int.h"

/* assert() is compiled out in release builds; this is not */
#define check(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { MAX_MSGS = 256, MAX_PTS = 48, MAX_TAGS = 3, MAX_FIELDS = 6, MAX_CALLS = 4096 };

/* Reads every byte of s (ASan reports a string that is not all in bounds). */
static unsigned touch(fa_str_t s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31 + (unsigned char)s.ptr[i];
    return h;
}

static void check_point(const eng_point_t *p)
{
    volatile unsigned h = touch(p->name) + touch(p->key);
    for (uint32_t i = 0; i < p->n_tags; i++)
        h += touch(p->tags[i].key) + touch(p->tags[i].value);
    for (uint32_t i = 1; i < p->n_tags; i++)
        check(fa_str_cmp(p->tags[i - 1].key, p->tags[i].key) <= 0);
    for (uint32_t i = 0; i < p->n_fields; i++) {
        check(p->fields[i].v.type <= ENG_BOOL);
        h += touch(p->fields[i].key);
        if (p->fields[i].v.type == ENG_STRING)
            h += touch(p->fields[i].v.s);
    }
    (void)h;
}

/* Reads everything rd gives (at most max points a call) into check_point; returns the points
 * read, or -1 when a call failed (with a message). */
static long read_all(rec_blocks_rd_t *rd, uint32_t max)
{
    eng_batch_t b;
    rec_read_out_t out;
    char err[512];
    long total = 0;
    int64_t last_seq = INT64_MIN;
    eng_batch_init(&b, 4096, 0);
    for (int call = 0; call < MAX_CALLS; call++) {
        err[0] = '\0';
        int rc = rec_blocks_next(rd, max, &b, &out, err, sizeof err);
        if (rc != FA_OK) {
            check(err[0] != '\0' && strlen(err) < sizeof err);
            total = -1;
            break;
        }
        check(out.n == b.n && (max == 0 || b.n <= max));
        if (out.eof) {
            check(b.n == 0);
            break;
        }
        check(b.n > 0);
        check(out.next_seq > last_seq);
        last_seq = out.next_seq;
        volatile unsigned h = touch(b.db) + touch(b.rp) + touch(out.group);
        (void)h;
        for (uint32_t i = 0; i < b.n; i++)
            check_point(&b.points[i]);
        total += b.n;
    }
    eng_batch_deinit(&b);
    return total;
}

/* ---- mode 1: arbitrary messages ---- */

static void fuzz_messages(const uint8_t *d, size_t n)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    fa_str_t msgs[MAX_MSGS];
    uint32_t k = 0;
    if (n < 4)
        return;
    if (d[1] & 1)
        msgs[k++] = fa_str(header, sizeof header);
    int64_t from = d[2];
    uint32_t max = (d[3] & 0x80) ? 0 : 1 + (d[3] & 0x3f); /* 0: the default, 8192 */
    for (size_t at = 4; at + 2 <= n && k < MAX_MSGS;) {
        size_t l = (size_t)d[at] << 8 | d[at + 1];
        at += 2;
        if (l > n - at)
            l = n - at;
        msgs[k++] = fa_str((const char *)d + at, l);
        at += l;
    }
    rec_blocks_rd_t *rd;
    char err[256];
    check(rec_blocks_open_mem(msgs, k, from, (d[1] & 2) ? from + d[1] : -1, &rd, err, sizeof err) == 0);
    read_all(rd, max);
    rec_blocks_close(rd);
}

/* ---- mode 2: round trip ---- */

/* The input, taken byte by byte (zeros past its end). */
typedef struct in {
    const uint8_t *p;
    size_t n;
} in_t;

static uint8_t take(in_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t take64(in_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take(in);
    return v;
}

/* A string of up to max characters from the input: printable ASCII, quotes, backslashes, control
 * characters and two-byte UTF-8 (valid, no NUL: the encoder would change anything else). */
static fa_str_t take_str(in_t *in, fa_arena_t *a, size_t max, bool nonempty)
{
    size_t len = take(in) % (max + 1), w = 0;
    if (nonempty && len == 0)
        len = 1;
    char *s = fa_arena_alloc(a, 2 * len + 1, 1);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = take(in);
        if (c >= 0xf0) { /* é */
            s[w++] = (char)0xc3;
            s[w++] = (char)0xa9;
        } else if (c < 0x20) {
            s[w++] = c ? (char)c : 'a';
        } else {
            s[w++] = (char)(c & 0x7f) ? (char)(c & 0x7f) : 'z';
            if (s[w - 1] == 0x7f)
                s[w - 1] = '"';
        }
    }
    return fa_str(s, w);
}

typedef struct src {
    fa_str_t db, rp, group;
    int64_t batch_seq;
    int32_t node;
} src_t;

typedef struct exp_pt {
    eng_point_t p;
    eng_tag_t tags[MAX_TAGS];
    eng_field_t fields[MAX_FIELDS];
    int src;
    int64_t seq;
} exp_pt_t;

/* jsonb's key order: shorter first, then bytewise. */
static int jsonb_order(fa_str_t a, fa_str_t b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return a.len ? memcmp(a.ptr, b.ptr, a.len) : 0;
}

/* The fields as the reader gives them: a key given twice keeps its last value, in jsonb's key
 * order. */
static uint32_t expect_fields(const eng_field_t *in, uint32_t n, eng_field_t *out)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        bool later = false;
        for (uint32_t j = i + 1; j < n; j++)
            later |= fa_str_eq(in[i].key, in[j].key);
        if (later)
            continue;
        uint32_t at = k++;
        while (at > 0 && jsonb_order(out[at - 1].key, in[i].key) > 0) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = in[i];
    }
    return k;
}

static bool value_eq(const eng_value_t *a, const eng_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ENG_FLOAT: return memcmp(&a->f, &b->f, sizeof a->f) == 0;
    case ENG_INT:
    case ENG_UINT: return a->u == b->u;
    case ENG_STRING: return fa_str_eq(a->s, b->s);
    case ENG_BOOL: return a->b == b->b;
    }
    return false;
}

static void check_same(const exp_pt_t *e, const eng_point_t *p)
{
    eng_field_t want[MAX_FIELDS];
    uint32_t nf = expect_fields(e->p.fields, e->p.n_fields, want);
    check(fa_str_eq(e->p.name, p->name) && e->p.time == p->time);
    check(p->key.len >= p->name.len && p->n_tags == e->p.n_tags);
    for (uint32_t i = 0; i < p->n_tags; i++)
        check(fa_str_eq(e->p.tags[i].key, p->tags[i].key) && fa_str_eq(e->p.tags[i].value, p->tags[i].value));
    check(p->n_fields == nf);
    for (uint32_t i = 0; i < nf; i++)
        check(fa_str_eq(want[i].key, p->fields[i].key) && value_eq(&want[i].v, &p->fields[i].v));
}

static const char *const tag_keys[] = { "a", "host", "region z" };
static const char *const field_keys[] = { "v", "value", "x", "f\"q", "a_longer_key", "é" };
static const char *const names[] = { "cpu", "m", "disk io" };

/* A point of series s (its name and tags drawn from the input) with fields from the input. */
static void make_point(in_t *in, fa_arena_t *a, const eng_point_t *series, exp_pt_t *e)
{
    e->p = *series;
    e->p.tags = e->tags;
    memcpy(e->tags, series->tags, sizeof *e->tags * series->n_tags);
    e->p.time = (take(in) & 0x80) ? (int64_t)take64(in) : 1600000000000000000 + take(in) * 1000;
    e->p.fields = e->fields;
    e->p.n_fields = take(in) % (MAX_FIELDS + 1);
    for (uint32_t f = 0; f < e->p.n_fields; f++) {
        uint8_t c = take(in);
        eng_field_t *fl = &e->fields[f];
        fl->key = fa_str_c(field_keys[c % 6]);
        fl->v.type = (eng_ftype_t)((c >> 3) % 5);
        switch (fl->v.type) {
        case ENG_FLOAT: {
            uint64_t bits = take64(in);
            memcpy(&fl->v.f, &bits, 8);
            break;
        }
        case ENG_INT: fl->v.i = (int64_t)take64(in); break;
        case ENG_UINT: fl->v.u = take64(in); break;
        case ENG_BOOL: fl->v.b = take(in) & 1; break;
        case ENG_STRING: fl->v.s = take_str(in, a, 12, false); break;
        }
    }
}

/* A series: one of a few names, tags (sorted, distinct keys) with values from the input. */
static void make_series(in_t *in, fa_arena_t *a, eng_point_t *s, eng_tag_t *tags)
{
    uint8_t c = take(in);
    memset(s, 0, sizeof *s);
    s->name = fa_str_c(names[c % 3]);
    s->tags = tags;
    for (int k = 0; k < MAX_TAGS; k++)
        if (c >> (2 + k) & 1)
            tags[s->n_tags++] = (eng_tag_t){ fa_str_c(tag_keys[k]), take_str(in, a, 8, true) };
    s->key = s->name; /* the stage does not keep it; the reader makes its own */
}

/* Writes the messages as an input of the first mode into FARAD_BLOCKS_SEEDS, when set. */
static void write_seed(const fa_str_t *msgs, uint32_t n)
{
    const char *dir = getenv("FARAD_BLOCKS_SEEDS");
    if (dir == NULL)
        return;
    fa_buf_t f = { 0 };
    unsigned h = 0;
    fa_buf_append(&f, "\0\0\0\0", 4);
    for (uint32_t i = 0; i < n; i++) {
        char l[2] = { (char)(msgs[i].len >> 8), (char)msgs[i].len };
        fa_buf_append(&f, l, 2);
        fa_buf_append(&f, msgs[i].ptr, msgs[i].len);
        h = h * 31 + touch(msgs[i]);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/rows_%08x", dir, h);
    FILE *fp = fopen(path, "wb");
    if (fp != NULL) {
        fwrite(f.ptr, 1, f.len, fp);
        fclose(fp);
    }
    fa_buf_deinit(&f);
}

/* Whether the reader takes a and b for one source (one call's points share one). */
static bool src_same(const src_t *a, const src_t *b)
{
    return fa_str_eq(a->db, b->db) && fa_str_eq(a->rp, b->rp) && a->batch_seq == b->batch_seq &&
           (a->batch_seq < 0 || (a->node == b->node && fa_str_eq(a->group, b->group)));
}

/* Reads the messages back from seq `from` on, max points a call, checking each against exp. */
static void read_back(const fa_str_t *msgs, uint32_t n_msgs, const exp_pt_t *exp, uint32_t n, const src_t *srcs,
                      int64_t from, uint32_t max)
{
    rec_blocks_rd_t *rd;
    eng_batch_t b;
    rec_read_out_t out;
    char err[512];
    uint32_t i = 0;
    while (i < n && exp[i].seq < from)
        i++;
    check(rec_blocks_open_mem(msgs, n_msgs, from, -1, &rd, err, sizeof err) == 0);
    eng_batch_init(&b, 4096, 0);
    for (int call = 0; call <= MAX_PTS + 1; call++) {
        int rc = rec_blocks_next(rd, max, &b, &out, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "%s\n", err);
        check(rc == 0 && out.n == b.n);
        if (out.eof)
            break;
        check(i < n);
        const src_t *s = &srcs[exp[i].src];
        check(fa_str_eq(b.db, s->db) && fa_str_eq(b.rp, s->rp) && out.batch_seq == s->batch_seq);
        if (s->batch_seq >= 0)
            check(fa_str_eq(out.group, s->group) && out.query_node == s->node);
        for (uint32_t j = 0; j < b.n; j++, i++) {
            check(i < n && src_same(&srcs[exp[i].src], s));
            check_same(&exp[i], &b.points[j]);
        }
        check(out.next_seq == exp[i - 1].seq + 1);
        /* a call ends at max points or where the source changes */
        check(b.n == max || i == n || !src_same(&srcs[exp[i].src], s));
    }
    check(out.eof && i == n);
    eng_batch_deinit(&b);
    rec_blocks_close(rd);
}

static void fuzz_round_trip(const uint8_t *d, size_t size)
{
    in_t in = { d + 1, size - 1 };
    fa_arena_t a;
    src_t srcs[4];
    eng_point_t series[4];
    eng_tag_t series_tags[4][MAX_TAGS];
    static exp_pt_t exp[MAX_PTS];
    fa_arena_init(&a, 4096, 0);

    uint8_t c = take(&in);
    uint32_t n_src = 1 + c % 4, n_series = 1 + (c >> 2) % 4, n = take(&in) % (MAX_PTS + 1);
    int64_t first_seq = (c & 0x80) ? INT64_C(1) << 40 : take(&in);
    for (uint32_t s = 0; s < n_src; s++) {
        uint8_t k = take(&in);
        srcs[s] = (src_t){ fa_str_c(k & 1 ? "db1" : "db"), fa_str_c(k & 2 ? "autogen" : "rp"), { 0 }, -1, 0 };
        if (k & 4) {
            srcs[s].batch_seq = k >> 4;
            srcs[s].group = take_str(&in, &a, 6, false);
            srcs[s].node = (int32_t)(take(&in) % 3);
        }
    }
    for (uint32_t s = 0; s < n_series; s++)
        make_series(&in, &a, &series[s], series_tags[s]);

    rec_stage_t st;
    rec_stage_init(&st, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t w = take(&in);
        exp[i].src = (int)(w % n_src);
        exp[i].seq = first_seq + i;
        make_point(&in, &a, &series[(w >> 2) % n_series], &exp[i]);
        const src_t *s = &srcs[exp[i].src];
        rec_copy_meta_t m = { .batch_seq = s->batch_seq, .group = s->group, .query_node = s->node };
        check(rec_stage_point(&st, &m, s->db, s->rp, &exp[i].p) == 0);
    }
    check(st.n == n);

    fa_buf_t enc = { 0 }, rows = { 0 };
    uint32_t n_rows, n_msgs;
    fa_str_t *msgs;
    check(rec_blocks_encode(&st, fa_str_c("rec-1"), first_seq, &enc, &n_rows) == 0);
    check(rec_blocks_as_read(&enc, &rows, &msgs, &n_msgs) == 0);
    check(n_msgs == n_rows + 2 && (n > 0) == (n_rows > 0) && n_rows <= n);
    write_seed(msgs, n_msgs);

    uint8_t mx = take(&in);
    uint32_t max = mx == 0xff ? 0 : 1 + mx % 8;
    read_back(msgs, n_msgs, exp, n, srcs, first_seq, max);
    uint32_t skip = n ? take(&in) % n : 0;
    if (skip) /* from a later seq: the ones before are skipped */
        read_back(msgs, n_msgs, exp, n, srcs, first_seq + skip, max);

    free(msgs);
    fa_buf_deinit(&rows);
    fa_buf_deinit(&enc);
    rec_stage_deinit(&st);
    fa_arena_deinit(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1 << 16)
        return 0;
    static int mode = -1; /* FARAD_BLOCKS_MODE=messages or trip runs one mode only */
    if (mode < 0) {
        const char *m = getenv("FARAD_BLOCKS_MODE");
        mode = m == NULL ? 2 : strcmp(m, "trip") == 0;
    }
    if (mode == 2 ? data[0] & 1 : mode)
        fuzz_round_trip(data, size);
    else
        fuzz_messages(data, size);
    return 0;
}
