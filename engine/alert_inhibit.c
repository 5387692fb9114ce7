/* engine/alert_inhibit.c - the active-category registry behind .inhibit() (a list under a mutex:
 * only alerts that are not OK are in it). */
#include "engine/alert_inhibit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const void *owner;
    char *category, *id;
    size_t category_len, id_len;
    eng_tag_t *tags;
    uint32_t n_tags;
    struct entry *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *entries;

static char *dup_bytes(fa_str_t s)
{
    char *d = malloc(s.len + 1);
    if (d == NULL)
        abort();
    if (s.len)
        memcpy(d, s.ptr, s.len);
    d[s.len] = 0;
    return d;
}

static void entry_free(struct entry *e)
{
    for (uint32_t i = 0; i < e->n_tags; i++) {
        free((char *)e->tags[i].key.ptr);
        free((char *)e->tags[i].value.ptr);
    }
    free(e->tags);
    free(e->category);
    free(e->id);
    free(e);
}

/* with mu held: the entry's link, or the list's end */
static struct entry **find(const void *owner, fa_str_t category, fa_str_t id)
{
    struct entry **pp = &entries;
    for (; *pp != NULL; pp = &(*pp)->next) {
        struct entry *e = *pp;
        if (e->owner == owner && fa_str_eq(fa_str(e->category, e->category_len), category) &&
            fa_str_eq(fa_str(e->id, e->id_len), id))
            break;
    }
    return pp;
}

void eng_alert_inhibit_set(const void *owner, fa_str_t category, fa_str_t id, const eng_tag_t *tags, uint32_t n_tags,
                           bool active)
{
    pthread_mutex_lock(&mu);
    struct entry **pp = find(owner, category, id);
    if (*pp != NULL) {
        struct entry *e = *pp;
        *pp = e->next;
        entry_free(e);
    }
    if (active) {
        struct entry *e = calloc(1, sizeof(*e));
        if (e == NULL || (n_tags && (e->tags = calloc(n_tags, sizeof(eng_tag_t))) == NULL))
            abort();
        e->owner = owner;
        e->category = dup_bytes(category);
        e->category_len = category.len;
        e->id = dup_bytes(id);
        e->id_len = id.len;
        for (uint32_t i = 0; i < n_tags; i++)
            e->tags[i] = (eng_tag_t){ fa_str(dup_bytes(tags[i].key), tags[i].key.len),
                                      fa_str(dup_bytes(tags[i].value), tags[i].value.len) };
        e->n_tags = n_tags;
        e->next = entries;
        entries = e;
    }
    pthread_mutex_unlock(&mu);
}

static fa_str_t tag_of(const eng_tag_t *tags, uint32_t n, fa_str_t key)
{
    for (uint32_t i = 0; i < n; i++)
        if (fa_str_eq(tags[i].key, key))
            return tags[i].value;
    return FA_STR_LIT("");
}

bool eng_alert_inhibited(fa_str_t category, const fa_str_t *names, uint32_t n_names, const eng_tag_t *tags,
                         uint32_t n_tags)
{
    bool hit = false;
    pthread_mutex_lock(&mu);
    for (struct entry *e = entries; e != NULL && !hit; e = e->next) {
        if (!fa_str_eq(fa_str(e->category, e->category_len), category))
            continue;
        hit = true;
        for (uint32_t k = 0; k < n_names && hit; k++)
            hit = fa_str_eq(tag_of(e->tags, e->n_tags, names[k]), tag_of(tags, n_tags, names[k]));
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

void eng_alert_inhibit_drop(const void *owner)
{
    pthread_mutex_lock(&mu);
    for (struct entry **pp = &entries; *pp != NULL;) {
        struct entry *e = *pp;
        if (e->owner == owner) {
            *pp = e->next;
            entry_free(e);
        } else {
            pp = &e->next;
        }
    }
    pthread_mutex_unlock(&mu);
}
