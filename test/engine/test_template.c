/* test/engine/test_template.c - engine/template.c and engine/alert_fmt.c: the Go text/template
 * subset and Go's text forms, checked against what Go prints (hand-checked). */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/alert_fmt.h"
#include "engine/template.h"

static fa_arena_t arena, scratch;
static fa_buf_t out;
static eng_tag_t tags[2];
static eng_field_t fields[4];
static eng_tmpl_data_t data;

static void setup(void)
{
    fa_arena_init(&arena, 4096, 0);
    fa_arena_init(&scratch, 4096, 0);
    out = FA_BUF_INIT;
    tags[0] = (eng_tag_t){ FA_STR_LIT("host"), FA_STR_LIT("web<1>") };
    tags[1] = (eng_tag_t){ FA_STR_LIT("region"), FA_STR_LIT("eu") };
    fields[0] = (eng_field_t){ FA_STR_LIT("value"), { .type = ENG_FLOAT, .f = 91.5 } };
    fields[1] = (eng_field_t){ FA_STR_LIT("count"), { .type = ENG_INT, .i = 7 } };
    fields[2] = (eng_field_t){ FA_STR_LIT("big"), { .type = ENG_FLOAT, .f = 12345678.5 } };
    fields[3] = (eng_field_t){ FA_STR_LIT("ok"), { .type = ENG_BOOL, .b = true } };
    data = (eng_tmpl_data_t){ .kind = ENG_TMPL_DETAILS, .name = FA_STR_LIT("cpu"), .task_name = FA_STR_LIT("t1"),
                              .group = FA_STR_LIT("host=web<1>"), .tags = tags, .n_tags = 2,
                              .hostname = FA_STR_LIT("localhost"), .id = FA_STR_LIT("cpu:host=web<1>"),
                              .level = FA_STR_LIT("CRITICAL"), .message = FA_STR_LIT("m"), .fields = fields,
                              .n_fields = 4, .time = 1643767334250000000, .duration = 12000000000 };
}
static void teardown(void)
{
    fa_buf_deinit(&out);
    fa_arena_deinit(&scratch);
    fa_arena_deinit(&arena);
}
TestSuite(template, .init = setup, .fini = teardown);

static const char *render(const char *src, eng_tmpl_mode_t mode)
{
    eng_tmpl_err_t err;
    eng_tmpl_t *t = eng_tmpl_parse(&arena, fa_str_c(src), mode, &err);
    cr_assert_not_null(t, "parse %s: %u:%u: %s", src, err.line, err.col, err.msg);
    fa_buf_clear(&out);
    cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), 0, "render %s: %s", src, err.msg);
    return fa_buf_cstr(&out);
}

Test(template, fields_index_and_defaults)
{
    cr_assert_str_eq(render("{{ .Name }}:{{ .Group }}", ENG_TMPL_TEXT), "cpu:host=web<1>");
    cr_assert_str_eq(render("{{ .ID }} is {{ .Level }}", ENG_TMPL_TEXT), "cpu:host=web<1> is CRITICAL");
    cr_assert_str_eq(render("{{ index .Tags \"region\" }}/{{ .Tags.host }}/[{{ index .Tags \"nope\" }}]", ENG_TMPL_TEXT),
                     "eu/web<1>/[]");
    cr_assert_str_eq(render("{{ index .Fields \"value\" }} {{ .Fields.count }} {{ index .Fields \"nope\" }}", ENG_TMPL_TEXT),
                     "91.5 7 <no value>");
    cr_assert_str_eq(render("{{ .Time }} | {{ .Duration }} | {{ .TaskName }} {{ .ServerInfo.Hostname }}", ENG_TMPL_TEXT),
                     "2022-02-02 02:02:14.25 +0000 UTC | 12s | t1 localhost");
}

Test(template, go_v_formatting_of_numbers)
{
    cr_assert_str_eq(render("{{ .Fields.big }}", ENG_TMPL_TEXT), "1.23456785e+07");
    cr_assert_str_eq(render("{{ .Fields }}", ENG_TMPL_TEXT), "map[big:1.23456785e+07 count:7 ok:true value:91.5]");
    cr_assert_str_eq(render("{{ .Tags }}", ENG_TMPL_TEXT), "map[host:web<1> region:eu]");
    fa_buf_t b = FA_BUF_INIT;
    double v[] = { 1e6, 999999, 0.0001, 0.00001, 100, 1.5e-7, 1e21, -2.5 };
    const char *go_v[] = { "1e+06", "999999", "0.0001", "1e-05", "100", "1.5e-07", "1e+21", "-2.5" };
    const char *json[] = { "1000000", "999999", "0.0001", "0.00001", "100", "1.5e-7", "1e+21", "-2.5" };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        fa_buf_clear(&b);
        eng_fmt_go_float(&b, v[i]);
        cr_assert_str_eq(fa_buf_cstr(&b), go_v[i]);
        fa_buf_clear(&b);
        eng_fmt_json_float(&b, v[i]);
        cr_assert_str_eq(fa_buf_cstr(&b), json[i]);
    }
    int64_t d[] = { 0, 1500, 12000000, 90000000000, 7200000000000, 1500000000 };
    const char *ds[] = { "0s", "1.5\xc2\xb5s", "12ms", "1m30s", "2h0m0s", "1.5s" };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        fa_buf_clear(&b);
        eng_fmt_go_duration(&b, d[i]);
        cr_assert_str_eq(fa_buf_cstr(&b), ds[i]);
    }
    fa_buf_clear(&b);
    eng_fmt_rfc3339(&b, 1643767334250000000);
    cr_assert_str_eq(fa_buf_cstr(&b), "2022-02-02T02:02:14.25Z");
    fa_buf_clear(&b);
    eng_fmt_rfc3339(&b, 0);
    cr_assert_str_eq(fa_buf_cstr(&b), "1970-01-01T00:00:00Z");
    fa_buf_deinit(&b);
}

Test(template, comparisons_if_else_and_pipelines)
{
    cr_assert_str_eq(render("{{ if eq .Level \"CRITICAL\" }}bad{{ else }}fine{{ end }}", ENG_TMPL_TEXT), "bad");
    cr_assert_str_eq(render("{{ if gt (index .Fields \"value\") 95.0 }}hi{{ else if ge .Fields.value 90.0 }}mid{{ else }}lo{{ end }}",
                            ENG_TMPL_TEXT), "mid");
    cr_assert_str_eq(render("{{ if lt .Fields.count 8 }}a{{ end }}{{ if le .Fields.count 6 }}b{{ end }}{{ if ne .Name \"mem\" }}c{{ end }}",
                            ENG_TMPL_TEXT), "ac");
    cr_assert_str_eq(render("{{ if and .Fields.ok (not false) }}y{{ end }}{{ if or false \"\" }}n{{ end }}", ENG_TMPL_TEXT), "y");
    cr_assert_str_eq(render("{{ index .Fields \"value\" | printf \"%.2f\" }}", ENG_TMPL_TEXT), "91.50");
    cr_assert_str_eq(render("{{ printf \"%s=%v n=%d %5.1f|%-4d|\" .Name .Fields.value .Fields.count 3.14159 7 }}", ENG_TMPL_TEXT),
                     "cpu=91.5 n=7   3.1|7   |");
    cr_assert_str_eq(render("{{ printf \"%d\" .Fields.value }}", ENG_TMPL_TEXT), "%!d(float64=91.5)");
    cr_assert_str_eq(render("{{ .Name | printf \"<%s>\" }}", ENG_TMPL_TEXT), "<cpu>");
    /* Go's parsenum: widths up to 1e6 work; a longer number swallows the rest of the format */
    cr_assert_str_eq(render("{{ printf \"%3d|\" 7 }}", ENG_TMPL_TEXT), "  7|");
    cr_assert_str_eq(render("{{ printf \"%99999999999999999999d|\" 7 }}", ENG_TMPL_TEXT), "%!(NOVERB)%!(EXTRA int=7)");
    cr_assert_str_eq(render("{{ printf \"%.99999999999999999999f|\" 7.5 }}", ENG_TMPL_TEXT), "%!(NOVERB)%!(EXTRA float64=7.5)");
}

Test(template, comparison_of_int_and_float_fails_as_in_go)
{
    eng_tmpl_err_t err;
    eng_tmpl_t *t = eng_tmpl_parse(&arena, FA_STR_LIT("x{{ if gt .Fields.value 80 }}y{{ end }}"), ENG_TMPL_TEXT, &err);
    cr_assert_not_null(t);
    cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), -1);
    cr_assert_str_eq(err.msg, "error calling gt: incompatible types for comparison");
    cr_assert_eq(err.col, 8);
    cr_assert_eq(out.len, 0, "a failed render leaves nothing behind");
}

Test(template, trim_markers_and_comments)
{
    cr_assert_str_eq(render("a  \n {{- .Name -}} \n  b{{/* note */}}c", ENG_TMPL_TEXT), "acpubc");
    cr_assert_str_eq(render("{{ -3 }} {{- 2 }}", ENG_TMPL_TEXT), "-32");
}

Test(template, json_and_html_escaping)
{
    data.kind = ENG_TMPL_MESSAGE;
    cr_assert_str_eq(render("{{ json .Tags }}", ENG_TMPL_TEXT), "{\"host\":\"web\\u003c1\\u003e\",\"region\":\"eu\"}");
    cr_assert_str_eq(render("{{ json . }}", ENG_TMPL_TEXT),
                     "{\"Name\":\"cpu\",\"TaskName\":\"t1\",\"Group\":\"host=web\\u003c1\\u003e\",\"Tags\":{\"host\":"
                     "\"web\\u003c1\\u003e\",\"region\":\"eu\"},\"ServerInfo\":{\"Hostname\":\"localhost\",\"ClusterID\":"
                     "\"\",\"ServerID\":\"\"},\"ID\":\"cpu:host=web\\u003c1\\u003e\",\"Fields\":{\"big\":12345678.5,"
                     "\"count\":7,\"ok\":true,\"value\":91.5},\"Level\":\"CRITICAL\",\"Time\":\"2022-02-02T02:02:14.25Z\","
                     "\"Duration\":12000000000}");
    /* details: html/template escapes the actions' output, not the literal text */
    cr_assert_str_eq(render("<b>{{ .Name }}+{{ \"a+b 'c'\" }} {{ .Tags.host }}</b>", ENG_TMPL_HTML),
                     "<b>cpu+a&#43;b &#39;c&#39; web&lt;1&gt;</b>");
    cr_assert_str_eq(render("{{ json .Tags }}", ENG_TMPL_HTML),
                     "{&#34;host&#34;:&#34;web\\u003c1\\u003e&#34;,&#34;region&#34;:&#34;eu&#34;}");
}

Test(template, fields_by_data_kind)
{
    eng_tmpl_err_t err;
    eng_tmpl_t *t = eng_tmpl_parse(&arena, FA_STR_LIT("{{ .Message }}"), ENG_TMPL_TEXT, &err);
    cr_assert_not_null(t);
    data.kind = ENG_TMPL_MESSAGE;
    cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), -1);
    cr_assert_str_eq(err.msg, "can't evaluate field Message in type alert.messageInfo");
    data.kind = ENG_TMPL_DETAILS;
    cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), 0);
    cr_assert_str_eq(fa_buf_cstr(&out), "m");
}

Test(template, parse_errors_have_positions)
{
    struct { const char *src, *msg; uint32_t line, col; } cases[] = {
        { "ok\n{{ .Name ", "unclosed action", 2, 10 },
        { "{{ foo .Name }}", "function \"foo\" not defined", 1, 4 },
        { "{{ if .Name }}x", "unexpected EOF: if without end", 1, 1 },
        { "{{ range .Tags }}{{ end }}", "{{ range }} is not supported by farad's templates", 1, 1 },
        { "x{{ end }}", "unexpected {{ end }}", 1, 2 },
        { "{{ \"abc }}", "unterminated quoted string", 1, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eng_tmpl_err_t err;
        cr_assert_null(eng_tmpl_parse(&arena, fa_str_c(cases[i].src), ENG_TMPL_TEXT, &err), "%s", cases[i].src);
        cr_assert_str_eq(err.msg, cases[i].msg, "%s", cases[i].src);
        cr_assert_eq(err.line, cases[i].line, "%s: line %u", cases[i].src, err.line);
        cr_assert_eq(err.col, cases[i].col, "%s: col %u", cases[i].src, err.col);
    }
}

Test(template, render_reuses_memory)
{
    eng_tmpl_err_t err;
    eng_tmpl_t *t = eng_tmpl_parse(&arena, FA_STR_LIT("{{ json . }} {{ printf \"%v\" .Fields.value }}"), ENG_TMPL_HTML, &err);
    cr_assert_not_null(t);
    cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), 0);
    size_t cap = out.cap, used = fa_arena_used(&scratch);
    for (int i = 0; i < 100; i++) {
        fa_arena_reset(&scratch);
        fa_buf_clear(&out);
        cr_assert_eq(eng_tmpl_render(t, &data, &scratch, &out, &err), 0);
    }
    cr_assert_eq(out.cap, cap, "the output buffer does not grow once warm");
    cr_assert_eq(fa_arena_used(&scratch), used, "each render uses the same scratch");
}
