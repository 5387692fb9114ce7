/* test/recorder/test_record.c - the parts of record and replay that need no PostgreSQL: the
 * database and retention policy of a query recording's InfluxQL (Kapacitor's "fully qualified"
 * rule). The rest runs against real servers in test/integration/test_record_replay.py. */
#include <criterion/criterion.h>
#include <string.h>

#include "recorder/rr.h"

static int dbrp(const char *q, char *db, char *rp)
{
    return rr_query_dbrp(q, db, 64, rp, 64);
}

Test(query_dbrp, quoted_and_bare)
{
    char db[64], rp[64];
    cr_assert_eq(dbrp("select usage_idle from \"telegraf\".\"autogen\".\"cpu\" where time > now() - 1h", db, rp), 0);
    cr_assert_str_eq(db, "telegraf");
    cr_assert_str_eq(rp, "autogen");
    cr_assert_eq(dbrp("SELECT * FROM tg.one_week.mem", db, rp), 0);
    cr_assert_str_eq(db, "tg");
    cr_assert_str_eq(rp, "one_week");
    cr_assert_eq(dbrp("select * from \"my \\\"db\".\"rp\".\"m\"", db, rp), 0);
    cr_assert_str_eq(db, "my \"db");
}

Test(query_dbrp, not_fully_qualified)
{
    char db[64], rp[64];
    cr_assert_eq(dbrp("select * from cpu", db, rp), -1);
    cr_assert_eq(dbrp("select * from \"telegraf\"..\"cpu\"", db, rp), -1);
    cr_assert_eq(dbrp("select * from telegraf.cpu", db, rp), -1);
    cr_assert_eq(dbrp("select fromage from x", db, rp), -1);
}

Test(query_dbrp, regex_measurement)
{
    char db[64], rp[64];
    cr_assert_eq(dbrp("select * from \"telegraf\".\"autogen\"./cpu.*/", db, rp), 0);
    cr_assert_str_eq(rp, "autogen");
}
