/* base/base.h - the leaf library every folder may use: arena, slices, buffers, errors, log, conf,
 * durations, memory settings. */
#ifndef BASE_BASE_H
#define BASE_BASE_H
#include "base/arena.h"
#include "base/conf.h"
#include "base/duration.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/str.h"
#endif
