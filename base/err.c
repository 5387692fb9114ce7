/* base/err.c - texts of the FA_E* codes. */
#include "base/err.h"

#include <string.h>

const char *fa_strerror(int code)
{
    switch (code) {
    case FA_OK: return "success";
    case FA_EPARSE: return "malformed input";
    case FA_EPG: return "PostgreSQL error";
    case FA_EUPSTREAM: return "upstream error";
    default: return code < 0 && code > -4096 ? strerror(-code) : "unknown error";
    }
}
