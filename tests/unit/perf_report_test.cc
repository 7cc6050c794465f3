// Unit tests: thespis-perf's result files and its --baseline gate: the
// strict JSON reader (perf/json.h), the report's JSON round trip
// (perf/report.h) and the comparison (perf/compare.h).
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

extern "C" {
#include "compare.h"
#include "json.h"
#include "report.h"
}

static int parse(const char *text, json **out)
{
    char err[128];
    return json_parse(text, strlen(text), out, err, sizeof(err));
}

TEST(PerfJson, ReadsValues)
{
    json *j;
    ASSERT_EQ(parse(" {\"a\":[1,-2.5e3,true,false,null],\"s\":\"x\\\"\\u00e9\\ud83d\\ude00\"} ", &j), 0);
    const json *a = json_arr(j, "a");
    ASSERT_NE(a, nullptr);
    ASSERT_EQ(a->n, 5u);
    EXPECT_EQ(a->kids[0].num, 1);
    EXPECT_EQ(a->kids[1].num, -2500);
    EXPECT_EQ(a->kids[2].kind, JV_BOOL);
    EXPECT_TRUE(a->kids[2].boolean);
    EXPECT_EQ(a->kids[4].kind, JV_NULL);
    EXPECT_STREQ(json_str(j, "s"), "x\"\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(json_get(j, "nosuch"), nullptr);
    EXPECT_EQ(json_num(j, "s", 7), 7);
    json_free(j);
}

TEST(PerfJson, RefusesWhatIsNotJson)
{
    const char *bad[] = {"", "{", "[1,]", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "+1",
                         "\"abc", "\"\\x\"", "\"\\ud800\"", "[1] 2", "tru", "nan", "1e999",
                         "{\"a\" 1}", "\"a\nb\"", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                         "[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
                         "]]]]]]]]]]]]]]]]]]]]]]]]]]"};
    for (const char *t : bad) {
        json *j = reinterpret_cast<json *>(1);
        EXPECT_EQ(parse(t, &j), -EINVAL) << t;
        EXPECT_EQ(j, nullptr) << t;
    }
}

// A report with two latency scenarios (one the other's baseline), a
// throughput one with a series, an open-loop one and one n/a.
static void make_report(report *r, double lat_ratio, double spread)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->m.cpu_model, sizeof(r->m.cpu_model), "Test CPU \"9000\"");
    snprintf(r->m.build, sizeof(r->m.build), "release");
    snprintf(r->m.idle, sizeof(r->m.idle), "busy");
    r->m.optimised = 1;
    snprintf(r->base, sizeof(r->base), "pinned");
    r->duration_s = 0.5;
    r->repeat = 3;
    r->cores[1] = 1;
    for (const char *name : {"pingpong.bare", "pingpong.engine", "throughput.engine", "pingpong.dpdk"})
        ASSERT_NE(report_add(r, name), nullptr); // it may move r->s
    scen_report *b = &r->s[0], *s = &r->s[1], *t = &r->s[2], *n = &r->s[3];
    n->status = -ENOTSUP;
    snprintf(n->why, sizeof(n->why), "no DPDK");
    for (scen_report *x : {b, s}) {
        x->kind = KIND_LATENCY;
        x->reps = 3;
        x->h = static_cast<hist *>(malloc(sizeof(hist)));
        hist_init(x->h);
        for (uint64_t v = 1; v < 100000; v += 7)
            hist_record(x->h, v * (x == s ? 3 : 1));
    }
    snprintf(s->baseline, sizeof(s->baseline), "pingpong.bare");
    t->kind = KIND_THROUGHPUT;
    t->reps = 3;
    t->nbins = 3;
    t->bin_s = 0.01;
    t->series[0] = 100;
    t->series[2] = 300;
    s->kept_up = 1;
    s->rate = 1000;
    s->achieved = 999.5;
    for (unsigned k = 0; k < 3; k++) {
        double d = 1 + spread * ((double)k - 1); // median 1, range 2*spread
        for (int f = 0; f < FIG_N; f++) {
            b->fig[k][f] = 100 * d + f;
            s->fig[k][f] = 300 * d + f;
            t->fig[k][f] = 1e6 * d;
        }
        s->fig[k][FIG_RATIO] = lat_ratio * d;
    }
}

static std::string to_json(const report *r)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    EXPECT_EQ(report_write(f, r), 0);
    fclose(f);
    std::string s(buf, len);
    free(buf);
    return s;
}

TEST(PerfReport, JsonRoundTrip)
{
    report r, back;
    make_report(&r, 3, 0.01);
    std::string text = to_json(&r);
    char err[256] = "";
    ASSERT_EQ(report_read_text(text.data(), text.size(), &back, err, sizeof(err)), 0) << err;
    EXPECT_EQ(to_json(&back), text);
    ASSERT_EQ(back.n, 4u);
    EXPECT_STREQ(back.m.cpu_model, "Test CPU \"9000\"");
    EXPECT_EQ(back.s[0].h->count, r.s[0].h->count);
    EXPECT_EQ(memcmp(back.s[1].h->counts, r.s[1].h->counts, sizeof(r.s[1].h->counts)), 0);
    EXPECT_EQ(back.s[1].h->max, r.s[1].h->max);
    EXPECT_EQ(back.s[1].kept_up, 1);
    EXPECT_EQ(back.s[3].status, -ENOTSUP);
    EXPECT_STREQ(back.s[3].why, "no DPDK");
    EXPECT_EQ(report_stat(&back.s[1], FIG_RATIO).median, 3);
    report_free(&r);
    report_free(&back);
}

TEST(PerfReport, RefusesOtherFiles)
{
    report r;
    char err[256] = "";
    const char *bad[] = {"{}", "[]", "{\"format\":\"thespis-perf/1\"}",
                         "{\"format\":\"thespis-perf/2\",\"machine\":{},\"cores\":[0,1],"
                         "\"scenarios\":[{\"name\":\"x\",\"kind\":\"latency\",\"status\":\"ok\","
                         "\"runs\":[]}]}"};
    for (const char *t : bad) {
        err[0] = 0;
        EXPECT_EQ(report_read_text(t, strlen(t), &r, err, sizeof(err)), -EINVAL) << t;
        EXPECT_NE(err[0], 0) << t;
    }
    EXPECT_EQ(report_read("/nonexistent/perf.json", &r, err, sizeof(err)), -ENOENT);
}

TEST(PerfReport, MedianAndSpread)
{
    report r;
    make_report(&r, 3, 0.1);
    stat3 st = report_stat(&r.s[1], FIG_RATIO);
    EXPECT_DOUBLE_EQ(st.median, 3);
    EXPECT_NEAR(st.min, 2.7, 1e-12);
    EXPECT_NEAR(st.max, 3.3, 1e-12);
    EXPECT_NEAR(report_spread(&r.s[1], FIG_RATIO), 0.2, 1e-12);
    report_free(&r);
}

static unsigned gate(const report *before, const report *after, int absolute, double pct)
{
    cmp_row rows[16];
    unsigned regressions = 99;
    size_t n = compare_reports(before, after, absolute, pct, rows, 16, &regressions);
    compare_print(stdout, rows, n, pct);
    return regressions;
}

TEST(PerfCompare, EqualBaselinePasses)
{
    report before, after;
    make_report(&before, 3, 0);
    make_report(&after, 3, 0);
    EXPECT_EQ(gate(&before, &after, 0, 0), 0u);
    EXPECT_EQ(gate(&before, &after, 1, 0), 0u);
    report_free(&before);
    report_free(&after);
}

TEST(PerfCompare, FasterBaselineFails)
{
    report before, after;
    make_report(&before, 2, 0);  // the engine was 2x bare
    make_report(&after, 3, 0);   // now 3x: 50% worse
    EXPECT_EQ(gate(&before, &after, 0, 10), 1u);
    EXPECT_EQ(gate(&before, &after, 0, 60), 0u); // within a 60% threshold
    cmp_row rows[4];
    unsigned regressions;
    ASSERT_EQ(compare_reports(&before, &after, 0, 10, rows, 4, &regressions), 1u);
    EXPECT_STREQ(rows[0].name, "pingpong.engine");
    EXPECT_DOUBLE_EQ(rows[0].before, 2);
    EXPECT_DOUBLE_EQ(rows[0].after, 3);
    EXPECT_DOUBLE_EQ(rows[0].ratio, 1.5);
    EXPECT_TRUE(rows[0].regress);
    report_free(&before);
    report_free(&after);
}

TEST(PerfCompare, SlowerBaselinePasses)
{
    report before, after;
    make_report(&before, 4, 0);
    make_report(&after, 3, 0);
    EXPECT_EQ(gate(&before, &after, 0, 0), 0u);
    report_free(&before);
    report_free(&after);
}

TEST(PerfCompare, TheRunsSpreadWidensTheThreshold)
{
    report before, after;
    make_report(&before, 3, 0);
    make_report(&after, 3.3, 0.1); // 10% worse, spread 20%
    EXPECT_EQ(gate(&before, &after, 0, 5), 0u);
    report_free(&before);
    make_report(&before, 2, 0);
    EXPECT_EQ(gate(&before, &after, 0, 5), 1u); // 65% worse > 5% + 20%
    report_free(&before);
    report_free(&after);
}

TEST(PerfCompare, AbsoluteThroughputLowerIsWorse)
{
    report before, after;
    make_report(&before, 3, 0);
    make_report(&after, 3, 0);
    for (unsigned k = 0; k < 3; k++)
        after.s[2].fig[k][FIG_MSGS] = 0.5e6; // half the throughput
    cmp_row rows[16];
    unsigned regressions;
    size_t n = compare_reports(&before, &after, 1, 10, rows, 16, &regressions);
    EXPECT_EQ(regressions, 1u);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (rows[i].regress) {
            EXPECT_STREQ(rows[i].name, "throughput.engine");
            EXPECT_EQ(rows[i].figure, FIG_MSGS);
            found = true;
        }
    EXPECT_TRUE(found);
    report_free(&before);
    report_free(&after);
}
