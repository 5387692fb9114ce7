/* engine/alert_inhibit.h - which alert categories are active, for `.inhibit(category, tags...)`.
 *
 * Process-wide (as Kapacitor's alert service is): an alert node with `.category(c)` records each
 * of its alerts (by ID) while it is not OK; an alert node with `.inhibit(c, tags...)` asks whether
 * an active alert of category c has the same values for the given tags. Thread-safe (one
 * mutex); touched only when an alert's level changes or an event is about to go out. */
#ifndef ENGINE_ALERT_INHIBIT_H
#define ENGINE_ALERT_INHIBIT_H
#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"
#include "engine/point.h"

/** Records alert `id` of `category` (owned by `owner`, an alert node) as active with its tags
 * (copied), or removes it when !active. */
void eng_alert_inhibit_set(const void *owner, fa_str_t category, fa_str_t id, const eng_tag_t *tags, uint32_t n_tags,
                           bool active);
/** Whether an active alert of `category` matches `tags` on every tag name in `names` (with no
 * names, any active alert of the category matches). */
bool eng_alert_inhibited(fa_str_t category, const fa_str_t *names, uint32_t n_names, const eng_tag_t *tags,
                         uint32_t n_tags);
/** Forgets every alert recorded by owner (its task stopped). */
void eng_alert_inhibit_drop(const void *owner);
#endif
