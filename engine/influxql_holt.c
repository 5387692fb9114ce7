/* engine/influxql_holt.c - Holt-Winters forecasting as InfluxDB 1.x does it: values are put on
 * a grid of `interval` (rounded times, NaN for gaps, later values of a bucket dropped); level,
 * trend, damping and seasonal factors are fitted by Nelder-Mead minimisation of the squared
 * error, started from a 3x3x3x3 grid of (alpha, beta, gamma, phi) guesses; the best fit is then
 * run `h` intervals past the data. */
#include <math.h>
#include <string.h>

#include "engine/influxql.h"

typedef struct hw {
    const double *y;   /* gridded values, NaN = missing */
    uint32_t n;
    int m;             /* season length; < 2 = not seasonal */
    bool seasonal;
    double *fc;        /* scratch: n + h forecasts */
    double *season;    /* scratch: m seasonal factors */
} hw_t;

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* Runs the model with params (alpha beta gamma phi l0 b0 s0..s(m-1)) for n+h steps into fc. */
static void hw_forecast(hw_t *w, const double *params, uint32_t h)
{
    double alpha = clamp01(params[0]), beta = clamp01(params[1]), gamma = clamp01(params[2]), phi = clamp01(params[3]);
    double level = params[4], trend = params[5], y = w->y[0], phi_h = phi;
    int m = w->seasonal ? w->m : 0, so = m - 1;
    if (w->seasonal) {
        memcpy(w->season, params + 6, sizeof(double) * (size_t)m);
        if (m == 1)
            w->season[0] = 1;
    }
    w->fc[0] = y;
    for (uint32_t t = 1; t < w->n + h; t++) {
        double stm = 1, stmh = 1;
        if (m) {
            int hm = (int)(t % (uint32_t)m);
            stm = w->season[((int)t - m + so) % m];
            stmh = w->season[((int)t - m + hm + so) % m];
        }
        double lp = level, bp = trend;
        level = alpha * (y / stm) + (1 - alpha) * (lp + phi * bp);
        trend = beta * (level - lp) + (1 - beta) * phi * bp;
        double st = gamma * (y / (lp + phi * bp)) + (1 - gamma) * stm;
        y = (level + phi_h * trend) * stmh;
        phi_h += pow(phi, (double)t);
        if (m) {
            w->season[((int)t + so) % m] = st;
            so++;
        }
        w->fc[t] = y;
    }
}

static double hw_sse(hw_t *w, const double *params)
{
    hw_forecast(w, params, 0);
    double sse = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        if (isnan(w->y[i]))
            continue;
        if (isnan(w->fc[i]))
            return INFINITY;
        double d = w->fc[i] - w->y[i];
        sse += d * d;
    }
    return sse;
}

/* Nelder-Mead over d dimensions from `start`; the best point goes to best, its value returned.
 * v: (d+1)*d, f: d+1, tmp: 4*d doubles of scratch. */
static double nelder_mead(hw_t *w, const double *start, int d, double *v, double *f, double *tmp, double *best)
{
    const double refl = 1, contr = 0.5, expand = 2, eps = 1e-4;
    double *vr = tmp, *ve = tmp + d, *vc = tmp + 2 * d, *vm = tmp + 3 * d;
    double pn = (sqrt(d + 1.0) - 1 + d) / (d * sqrt(2.0)), qn = (sqrt(d + 1.0) - 1) / (d * sqrt(2.0));
    for (int i = 0; i <= d; i++)
        for (int j = 0; j < d; j++)
            v[i * d + j] = start[j] + (i == 0 ? 0 : i - 1 == j ? pn : qn);
    for (int i = 0; i <= d; i++)
        f[i] = hw_sse(w, v + i * d);
    for (int itr = 0; itr < 1000; itr++) {
        int hi = 0, lo = 0;
        for (int i = 0; i <= d; i++) {
            if (f[i] > f[hi])
                hi = i;
            if (f[i] < f[lo])
                lo = i;
        }
        int nh = lo; /* second highest */
        for (int i = 0; i <= d; i++)
            if (f[i] > f[nh] && f[i] < f[hi])
                nh = i;
        for (int j = 0; j < d; j++) {
            double c = 0;
            for (int i = 0; i <= d; i++)
                if (i != hi)
                    c += v[i * d + j];
            vm[j] = c / d;
        }
        for (int j = 0; j < d; j++)
            vr[j] = vm[j] + refl * (vm[j] - v[hi * d + j]);
        double fr = hw_sse(w, vr);
        if (fr < f[nh] && fr >= f[lo]) {
            memcpy(v + hi * d, vr, sizeof(double) * (size_t)d);
            f[hi] = fr;
        }
        if (fr < f[lo]) {
            for (int j = 0; j < d; j++)
                ve[j] = vm[j] + expand * (vr[j] - vm[j]);
            double fe = hw_sse(w, ve);
            memcpy(v + hi * d, fe < fr ? ve : vr, sizeof(double) * (size_t)d);
            f[hi] = fe < fr ? fe : fr;
        }
        if (fr >= f[nh]) {
            for (int j = 0; j < d; j++)
                vc[j] = fr < f[hi] ? vm[j] + contr * (vr[j] - vm[j]) : vm[j] - contr * (vm[j] - v[hi * d + j]);
            double fc = hw_sse(w, vc);
            if (fc < f[hi]) {
                memcpy(v + hi * d, vc, sizeof(double) * (size_t)d);
                f[hi] = fc;
            } else { /* shrink towards the best vertex */
                for (int i = 0; i <= d; i++)
                    if (i != lo)
                        for (int j = 0; j < d; j++)
                            v[i * d + j] = v[lo * d + j] + (v[i * d + j] - v[lo * d + j]) / 2;
                f[hi] = hw_sse(w, v + hi * d);
                f[nh] = hw_sse(w, v + nh * d);
            }
        }
        double avg = 0, s = 0;
        for (int i = 0; i <= d; i++)
            avg += f[i];
        avg /= d + 1;
        for (int i = 0; i <= d; i++)
            s += (f[i] - avg) * (f[i] - avg) / d;
        if (sqrt(s) < eps)
            break;
    }
    int lo = 0;
    for (int i = 0; i <= d; i++)
        if (f[i] < f[lo])
            lo = i;
    memcpy(best, v + lo * d, sizeof(double) * (size_t)d);
    return hw_sse(w, best);
}

static int64_t round_time(int64_t t, int64_t interval)
{
    int64_t r = t % interval;
    return r > interval / 2 ? (t / interval + 1) * interval : t - r;
}

int eng_iql_holt_winters(const eng_iql_spec_t *s, const int64_t *times, const double *values, uint32_t n, fa_arena_t *a,
                         eng_iql_out_t **out)
{
    *out = NULL;
    int m = (int)s->m;
    bool seasonal = m >= 2;
    int64_t interval = s->unit, h = s->n;
    if (n < 2 || (seasonal && n < (uint32_t)m) || h <= 0 || interval <= 0)
        return 0;
    int64_t start = round_time(times[0], interval), stop = round_time(times[n - 1], interval);
    int64_t count = (stop - start) / interval;
    if (count <= 0 || count > 1000000)
        return 0;
    double *y = FA_NEW(a, double, (size_t)count + 1);
    uint32_t ny = 1;
    y[0] = values[0];
    int64_t t = start;
    for (uint32_t i = 1; i < n; i++) {
        int64_t r = round_time(times[i], interval);
        if (r <= t)
            continue; /* later values of a bucket are dropped */
        for (t += interval; t != r && ny <= count; t += interval)
            y[ny++] = NAN;
        if (ny > count)
            break;
        y[ny++] = values[i];
    }
    if (seasonal && ny < (uint32_t)m)
        return 0;
    hw_t w = { .y = y, .n = ny, .m = m, .seasonal = seasonal };
    w.fc = FA_NEW(a, double, ny + (size_t)h);
    w.season = FA_NEW(a, double, seasonal ? (size_t)m : 1);
    int d = 6 + (seasonal ? m : 0);
    double *params = FA_NEW(a, double, (size_t)d), *best = FA_NEW(a, double, (size_t)d), *cand = FA_NEW(a, double, (size_t)d);
    double *v = FA_NEW(a, double, (size_t)(d + 1) * d), *f = FA_NEW(a, double, (size_t)d + 1), *tmp = FA_NEW(a, double, 4 * (size_t)d);
    double l0 = 0, b0 = 0;
    if (seasonal) {
        for (int i = 0; i < m; i++)
            if (!isnan(y[i]))
                l0 += y[i] / m;
        for (int i = 0; i < m && (uint32_t)(m + i) < ny; i++)
            if (!isnan(y[i]) && !isnan(y[m + i]))
                b0 += (y[m + i] - y[i]) / ((double)m * m);
        for (int i = 0; i < m; i++)
            params[6 + i] = isnan(y[i]) ? 0 : y[i] / l0;
    } else {
        l0 = 0.5 * y[0];
        if (!isnan(y[1]))
            b0 = 0.5 * (y[1] - y[0]);
    }
    params[4] = l0;
    params[5] = b0;
    double min_sse = INFINITY;
    bool have = false;
    for (double al = 0.3; al < 1; al += 0.4)
        for (double be = 0.3; be < 1; be += 0.4)
            for (double ga = 0.3; ga < 1; ga += 0.4)
                for (double ph = 0.3; ph < 1; ph += 0.4) {
                    params[0] = al, params[1] = be, params[2] = ga, params[3] = ph;
                    double sse = nelder_mead(&w, params, d, v, f, tmp, cand);
                    if (!have || sse < min_sse) {
                        min_sse = sse;
                        memcpy(best, cand, sizeof(double) * (size_t)d);
                        have = true;
                    }
                }
    hw_forecast(&w, best, (uint32_t)h);
    eng_iql_out_t *o = FA_NEW(a, eng_iql_out_t, ny + (size_t)h);
    int k = 0;
    if (s->fn == ENG_IQL_HOLT_WINTERS_FIT) {
        for (uint32_t i = 0; i < ny + h; i++)
            if (!isnan(w.fc[i]))
                o[k++] = (eng_iql_out_t){ { .type = ENG_FLOAT, .f = w.fc[i] }, times[0] + interval * (int64_t)i, -1 };
    } else {
        for (int64_t i = 0; i < h; i++)
            if (!isnan(w.fc[ny + i]))
                o[k++] = (eng_iql_out_t){ { .type = ENG_FLOAT, .f = w.fc[ny + i] }, times[n - 1] + interval * (i + 1), -1 };
    }
    *out = o;
    return k;
}
