/* recorder/recorder.h - what other folders include of the recorder: the PostgreSQL store and the
 * task definition store over it. */
#ifndef RECORDER_RECORDER_H
#define RECORDER_RECORDER_H
#include "recorder/defstore.h"
#include "recorder/store.h"
#endif
