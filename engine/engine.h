/* engine/engine.h - what other folders include of the engine: data model, line protocol, ingest. */
#ifndef ENGINE_ENGINE_H
#define ENGINE_ENGINE_H
#include "engine/ingest.h"
#include "engine/lp.h"
#include "engine/point.h"
#include "engine/ring.h"
#include "engine/statmap.h"
#endif
