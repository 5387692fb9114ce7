/* test/tick/test_lex.c - tick/lex.c: token kinds, regex vs division, literals, errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "tick/lex.h"

/* Lexes src and writes the kinds, space-separated, into out. */
static void kinds(const char *src, char *out, size_t n)
{
    tick_lexer_t l;
    size_t used = 0;

    tick_lex_init(&l, src, strlen(src));
    out[0] = '\0';
    for (int i = 0; i < 64; i++) {
        tick_tok_t t = tick_lex_next(&l);
        used += (size_t)snprintf(out + used, n - used, "%s%s", used ? " " : "", tick_tok_str(t.kind));
        if (t.kind == TK_EOF || t.kind == TK_ERROR)
            break;
    }
}

#define ASSERT_KINDS(src, exp) do { char buf[512]; kinds((src), buf, sizeof buf); cr_assert_str_eq(buf, (exp)); } while (0)

Test(tick_lex, operators_after_operands)
{
    ASSERT_KINDS("\"a\" + 1 - 2 * 3 / 4 % 5", "reference + number - number * number / number % number EOF");
    ASSERT_KINDS("a == b != c < d <= e > f >= g", "identifier == identifier != identifier < identifier <= identifier > identifier >= identifier EOF");
    ASSERT_KINDS("a =~ /x/ AND b !~ /y/ OR !c", "identifier =~ regex AND identifier !~ regex OR ! identifier EOF");
}

Test(tick_lex, slash_is_regex_where_an_operand_is_expected)
{
    ASSERT_KINDS("(/a\\/b/)", "( regex ) EOF");
    ASSERT_KINDS("x / 2", "identifier / number EOF");
    ASSERT_KINDS("(x) / (y)", "( identifier ) / ( identifier ) EOF");
    ASSERT_KINDS("var r = /^a$/", "var identifier = regex EOF");
}

Test(tick_lex, star_is_literal_or_multiplication)
{
    ASSERT_KINDS("groupBy(*)", "identifier ( * ) EOF");
    ASSERT_KINDS("2 * 3", "number * number EOF");
}

Test(tick_lex, durations_every_unit)
{
    ASSERT_KINDS("1u 2µ 3ms 4s 5m 6h 7d 8w", "duration duration duration duration duration duration duration duration EOF");
    ASSERT_KINDS("1.5 .5 10", "number number number EOF");
}

Test(tick_lex, keywords_and_lambda)
{
    ASSERT_KINDS("var dbrp TRUE FALSE lambda: lambda", "var dbrp TRUE FALSE lambda identifier EOF");
    ASSERT_KINDS("stream|from().x@udf()", "identifier | identifier ( ) . identifier @ identifier ( ) EOF");
}

Test(tick_lex, strings_and_comments)
{
    tick_lexer_t l;
    const char *src = "'it\\'s' '''a\nb''' '' // note\n[";
    tick_tok_t t;

    tick_lex_init(&l, src, strlen(src));
    t = tick_lex_next(&l);
    cr_assert_eq(t.kind, TK_STRING);
    cr_assert_eq(t.len, 7);
    t = tick_lex_next(&l);
    cr_assert_eq(t.kind, TK_STRING);
    cr_assert_eq(t.len, 9);
    t = tick_lex_next(&l);
    cr_assert_eq(t.kind, TK_STRING);
    cr_assert_eq(t.len, 2);
    t = tick_lex_next(&l);
    cr_assert_eq(t.kind, TK_COMMENT);
    cr_assert_eq(strncmp(src + t.off, " note", t.len), 0);
    cr_assert_eq(tick_lex_next(&l).kind, TK_LBRACK);
}

Test(tick_lex, errors_in_kapacitors_words)
{
    tick_lexer_t l;
    tick_tok_t t;

    tick_lex_init(&l, "'abc", 4);
    t = tick_lex_next(&l);
    cr_assert_eq(t.kind, TK_ERROR);
    cr_assert_str_eq(t.err, "unterminated string");
    tick_lex_init(&l, "1.2.3", 5);
    cr_assert_str_eq(tick_lex_next(&l).err, "multiple decimals in number");
    tick_lex_init(&l, "#", 1);
    cr_assert_str_eq(tick_lex_next(&l).err, "unknown state, last char: '#'");
    tick_lex_init(&l, "\"ab", 3);
    cr_assert_str_eq(tick_lex_next(&l).err, "unterminated field reference");
    tick_lex_init(&l, "/ab", 3);
    cr_assert_str_eq(tick_lex_next(&l).err, "unterminated regex");
}

Test(tick_lex, line_and_char_count_from_one)
{
    uint32_t line, col;

    tick_lex_linecol("ab\ncd", 0, &line, &col);
    cr_assert(line == 1 && col == 1);
    tick_lex_linecol("ab\ncd", 4, &line, &col);
    cr_assert(line == 2 && col == 2);
}
