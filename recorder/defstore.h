/* recorder/defstore.h - the task API's definition store (engine/defs.h's eng_defstore_t) over the
 * PostgreSQL store thread (store.h). Completions run on the store thread. */
#ifndef RECORDER_DEFSTORE_H
#define RECORDER_DEFSTORE_H
#include "engine/defs.h"
#include "recorder/store.h"

/** Fills ds with the ops over `store` (which must outlive every op). */
void rec_defstore_init(eng_defstore_t *ds, rec_store_t *store);
#endif
