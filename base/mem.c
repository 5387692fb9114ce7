/* base/mem.c - process-wide memory settings. */
#include "base/mem.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void fa_tune_malloc(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    if (t != NULL && strstr(t, "glibc.malloc.") != NULL)
        return; /* the operator's own malloc tunables win */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}
