/* tick/expr_int.h - internals shared by compile.c, eval.c, funcs.c and expr_value.c (not for other folders). */
#ifndef TICK_EXPR_INT_H
#define TICK_EXPR_INT_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>

#include "tick/expr.h"

#define EMSG_LEN 200

struct tick_regex {
    pcre2_code *code;
    pcre2_match_data *md; /* one match at a time: see the threading note in expr.h */
    fa_str_t src;
    bool jit;
};

/* Operands are 16 bits: the top two say where the value lives. */
#define OPND_REG 0x0000u
#define OPND_CONST 0x8000u
#define OPND_SLOT 0xC000u
#define OPND_KIND(x) ((x) & 0xC000u)
#define OPND_IDX(x) ((x) & 0x3FFFu)
#define OPND_MAX_IDX 0x3FFFu
#define MAX_REGS 1024

enum vm_op {
    VM_BIN,     /* dst = a <sub> b (any binary operator but AND/OR/=~/!~) */
    VM_CMPF,    /* dst = a <sub> b, fast path for float/int comparisons, general fallback */
    VM_MATCH,   /* dst = a =~ b (sub: TICK_OP_REQ or TICK_OP_RNE), b a regex constant */
    VM_UN,      /* dst = <sub> a */
    VM_TEST,    /* sub AND: dst = a; if !a jump x.  sub OR: dst = a; if a jump x.  a must be bool */
    VM_BOOL,    /* dst = a, a must be bool (right side of AND/OR) */
    VM_CALL,    /* dst = fn[a](args[b .. b+sub)), state at offset x */
};

typedef struct vm_insn {
    uint8_t op;   /* enum vm_op */
    uint8_t sub;  /* tick_op_t, or the argument count of a call */
    uint16_t dst; /* register */
    uint16_t a, b;
    uint32_t x;
} vm_insn_t;

struct tick_prog {
    vm_insn_t *code;
    tick_pos_t *pos;         /* per instruction, for errors */
    uint32_t n;
    uint16_t *args;          /* call argument operands */
    tick_value_t *consts;
    uint32_t n_consts;
    uint32_t n_regs;
    uint32_t n_slots;        /* highest slot used + 1 */
    fa_str_t *slot_names;    /* n_slots, for "reference ... is missing" errors */
    uint16_t result;         /* operand holding the result */
    tick_vtype_t type;       /* static result type, TICK_V_INVALID when dynamic */
    size_t state_size;
    uint32_t *state_fns;     /* (function index << 20 | offset) per stateful call site */
    uint32_t n_state_fns;
    tick_regex_t **regexes;  /* to release */
    uint32_t n_regexes;
};

/* ---- functions (funcs.c) ---- */

/** One accepted argument list and the result type it gives. */
typedef struct fn_sig {
    uint8_t n;
    tick_vtype_t args[4];
    tick_vtype_t ret;
} fn_sig_t;

/** How a function words a bad argument (Kapacitor's families). */
enum fn_style {
    FS_MATH,   /* cannot pass %T to %s, must be float64 / int64 */
    FS_MATHIF, /* cannot pass %T to %s as first arg, must be int64 */
    FS_STR,    /* cannot pass %T as first arg to %s, must be string */
    FS_CONV,   /* cannot convert %T to <what> */
    FS_TIME,   /* cannot convert %T to time.Time */
    FS_IF,
    FS_FLOAT,  /* value is not a float (sigma, spread) */
    FS_ANY,
};

typedef struct fn_call {
    const tick_value_t *argv;
    unsigned n;
    void *state;
    tick_eval_ctx_t *ctx;
    fa_arena_t *scratch;
    tick_value_t *out;
    char *emsg; /* EMSG_LEN bytes: the reason, without the "error calling" prefix */
} fn_call_t;

typedef struct tick_fn {
    const char *name;
    uint8_t min_args, max_args;
    const char *count_msg;   /* "abs expects exactly one argument" */
    const fn_sig_t *sigs;
    uint8_t n_sigs;
    uint8_t style;           /* enum fn_style */
    const char *what;        /* FS_CONV: "float", "integer" ...; FS_MATH: "float64" */
    int (*call)(fn_call_t *c); /* 0, or -1 with c->emsg set */
    uint16_t state_size;     /* > 0: stateful, never folded */
    void (*state_init)(void *state);
    bool impure;             /* now(): never folded */
} tick_fn_t;

/** The function named `name`, or NULL. Sets *index for VM_CALL. */
const tick_fn_t *fn_lookup(fa_str_t name, uint32_t *index);
const tick_fn_t *fn_by_index(uint32_t index);
/** Finds the signature matching `types` (TICK_V_INVALID = unknown, matches anything).
 * Returns the result type (TICK_V_INVALID when it varies); -1 when nothing matches, with the
 * reason in emsg (without prefix). */
int fn_check(const tick_fn_t *f, const tick_vtype_t *types, unsigned n, tick_vtype_t *ret, char *emsg);

/* ---- values and operators (expr_value.c) ---- */

/** Runs a binary operator on two concrete values (not AND/OR). 0, or -1 with emsg. */
int vm_binop(tick_op_t op, const tick_value_t *l, const tick_value_t *r, tick_value_t *out, fa_arena_t *scratch,
             char *emsg);
/** Runs a unary operator. 0, or -1 with emsg. */
int vm_unop(tick_op_t op, const tick_value_t *v, tick_value_t *out, char *emsg);
/** true when `s` matches the regex (unanchored search, as Go's MatchString). */
bool vm_regex_match(const tick_regex_t *re, fa_str_t s);
/** Compiles a regex with Go-like options (UTF, $ only at the end). NULL with emsg on error. */
tick_regex_t *vm_regex_new(fa_str_t pattern, fa_arena_t *a, char *emsg);
void vm_regex_free(tick_regex_t *re);
/** Allocates n bytes of string result in scratch; NULL with emsg set when over the limit. */
char *vm_scratch(fa_arena_t *scratch, size_t n, char *emsg);
/** Go's float64 -> int64 conversion on amd64 (out of range and NaN give INT64_MIN). */
int64_t vm_f2i(double f);
/** Formats a float as strconv.FormatFloat(f, 'f', -1, 64). */
int vm_format_float(char *buf, size_t len, double f);
#endif
