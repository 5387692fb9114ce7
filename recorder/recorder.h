/* recorder/recorder.h - what other folders include of the recorder: the PostgreSQL store. */
#ifndef RECORDER_RECORDER_H
#define RECORDER_RECORDER_H
#include "recorder/store.h"
#endif
