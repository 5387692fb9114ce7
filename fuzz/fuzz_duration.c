/* fuzz/fuzz_duration.c - libFuzzer: base/duration. The first byte picks the parse flags, the rest
 * is the text. Whatever parses must format (Go's String() and InfluxQL's) to text that parses
 * back to the same ns; adding FA_DUR_FRAC or dropping FA_DUR_SINGLE never loses a value; failures
 * are only FA_EINVAL or FA_ERANGE. The first 8 bytes as an int64 round-trip too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ns -> both formats -> their parsers -> ns, or abort. */
static void round_trip(int64_t ns)
{
    char out[FA_DURATION_LEN];
    int64_t back;

    size_t n = fa_duration_format(out, sizeof out, ns);
    if (n >= sizeof out || strlen(out) != n)
        abort();
    if (fa_duration_parse(fa_str(out, n), FA_DUR_GO_PARSE, &back) != 0 || back != ns)
        abort();
    n = fa_duration_format_influxql(out, sizeof out, ns);
    if (n >= sizeof out || strlen(out) != n)
        abort();
    if (fa_duration_parse(fa_str(out, n), FA_DUR_INFLUXQL_PARSE, &back) != 0 || back != ns)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 256)
        return 0;
    unsigned flags = data[0] & 0x3f;
    fa_str_t text = fa_str((const char *)data + 1, size - 1);
    int64_t ns, wider;

    int rc = fa_duration_parse(text, flags, &ns);
    if (rc != 0 && rc != FA_EINVAL && rc != FA_ERANGE)
        abort();
    if (rc == 0) {
        round_trip(ns);
        if (fa_duration_parse(text, (flags | FA_DUR_FRAC) & ~(unsigned)FA_DUR_SINGLE, &wider) != 0 || wider != ns)
            abort();
    }
    if (size >= 8) {
        int64_t raw;
        memcpy(&raw, data, sizeof raw);
        round_trip(raw);
    }
    return 0;
}
