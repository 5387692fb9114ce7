/* base/err.h - error codes: 0 = success, negative = failure, errno values where one fits. */
#ifndef BASE_ERR_H
#define BASE_ERR_H
#include <errno.h>

enum {
    FA_OK = 0,
    FA_ENOMEM = -ENOMEM,
    FA_EINVAL = -EINVAL,
    FA_EAGAIN = -EAGAIN,
    FA_E2BIG = -E2BIG,
    FA_ENOENT = -ENOENT,
    FA_EIO = -EIO,
    FA_EEXIST = -EEXIST,
    FA_ERANGE = -ERANGE,
    FA_EPARSE = -1000, /* malformed input; the message says where */
    FA_EPG = -1001,    /* PostgreSQL failed */
    FA_EUPSTREAM = -1002,
};

/** Text for an FA_E* code; never NULL. */
const char *fa_strerror(int code);
#endif
