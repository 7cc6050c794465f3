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

TEST(PerfCompare, RatioThroughputLowerIsWorse)
{
    report before, after;
    make_report(&before, 3, 0);
    make_report(&after, 3, 0);
    for (report *r : {&before, &after})
        snprintf(r->s[2].baseline, sizeof(r->s[2].baseline), "pingpong.bare");
    for (unsigned k = 0; k < 3; k++) {
        before.s[2].fig[k][FIG_RATIO] = 0.3; // the engine at 0.3 of bare
        after.s[2].fig[k][FIG_RATIO] = 0.15; // now at 0.15: half as fast
    }
    cmp_row rows[16];
    unsigned regressions;
    size_t n = compare_reports(&before, &after, 0, 10, rows, 16, &regressions);
    EXPECT_EQ(regressions, 1u);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].name, "throughput.engine") == 0) {
            EXPECT_EQ(rows[i].figure, FIG_RATIO);
            EXPECT_TRUE(rows[i].regress);
            EXPECT_DOUBLE_EQ(rows[i].worse_pct, 100);
            found = true;
        }
    EXPECT_TRUE(found);
    // The other way round (faster now) passes.
    EXPECT_EQ(compare_reports(&after, &before, 0, 10, rows, 16, &regressions), n);
    EXPECT_EQ(regressions, 0u);
    report_free(&before);
    report_free(&after);
}

TEST(PerfCompare, KeptUpInOneRunOnlyIsNotCompared)
{
    report before, after;
    make_report(&before, 2, 0);
    make_report(&after, 3, 0); // would regress
    after.s[1].kept_up = 0;    // but it fell behind, the baseline kept up
    cmp_row rows[16];
    unsigned regressions;
    size_t n = compare_reports(&before, &after, 0, 10, rows, 16, &regressions);
    ASSERT_EQ(n, 1u);
    EXPECT_TRUE(rows[0].skipped);
    EXPECT_STREQ(rows[0].name, "pingpong.engine");
    EXPECT_EQ(regressions, 0u);
    EXPECT_EQ(compare_count(rows, n), 0u);
    EXPECT_FALSE(compare_has(rows, n, "pingpong.engine"));
    compare_print(stdout, rows, n, 10);
    report_free(&before);
    report_free(&after);
}

// A small valid file: one latency scenario, 3 samples (5, 5, 300 ns; 300
// is in the bucket whose top is 301), open loop.
static const char valid_file[] =
    "{\"format\":\"thespis-perf/2\",\"machine\":{},\"base\":\"pinned\",\"cores\":[0,1],"
    "\"duration_s\":0.5,\"repeat\":1,\"rate\":1000,\"scenarios\":[{\"name\":\"x\","
    "\"kind\":\"latency\",\"status\":\"ok\",\"runs\":[{\"p50_ns\":5,\"p90_ns\":5,"
    "\"p99_ns\":300,\"p999_ns\":300,\"p9999_ns\":300,\"max_ns\":300,\"msgs_per_s\":10,"
    "\"samples\":6,\"seconds\":1}],\"open_loop\":{\"rate\":1000,\"achieved\":999,"
    "\"kept_up\":true},\"series\":{\"bin_s\":0.01,\"msgs\":[1,2]},"
    "\"hist\":{\"count\":3,\"min_ns\":5,\"max_ns\":300,\"buckets\":[[5,2],[301,1]]}}]}";

TEST(PerfReport, ReadsTheSmallFile)
{
    report r;
    char err[256] = "";
    ASSERT_EQ(report_read_text(valid_file, strlen(valid_file), &r, err, sizeof(err)), 0) << err;
    ASSERT_EQ(r.n, 1u);
    EXPECT_EQ(r.s[0].h->count, 3u);
    EXPECT_EQ(r.s[0].h->max, 300u);
    EXPECT_EQ(r.repeat, 1u);
    EXPECT_EQ(r.rate, 1000);
    report_free(&r);
}

// Every number out of what the writer writes is refused, with a reason.
TEST(PerfReport, RefusesNumbersOutOfRange)
{
    const struct {
        const char *from, *to;
    } bad[] = {
        {"\"cores\":[0,1]", "\"cores\":[1e300,1]"},
        {"\"cores\":[0,1]", "\"cores\":[0,-1]"},
        {"\"cores\":[0,1]", "\"cores\":[0,1.5]"},
        {"\"cores\":[0,1]", "\"cores\":[0,1024]"}, // CPU_SETSIZE
        {"\"cores\":[0,1]", "\"cores\":[0,\"1\"]"},
        {"\"repeat\":1", "\"repeat\":-5"},
        {"\"repeat\":1", "\"repeat\":0"},
        {"\"repeat\":1", "\"repeat\":101"},
        {"\"repeat\":1", "\"repeat\":1.5"},
        {"\"repeat\":1", "\"repeat\":\"1\""},
        {"\"rate\":1000,\"scenarios\"", "\"rate\":-1,\"scenarios\""},
        {"\"rate\":1000,\"scenarios\"", "\"rate\":1e300,\"scenarios\""},
        {"\"duration_s\":0.5", "\"duration_s\":-0.5"},
        {"\"duration_s\":0.5", "\"duration_s\":1e300"},
        {"\"p50_ns\":5", "\"p50_ns\":-5"},
        {"\"open_loop\":{\"rate\":1000", "\"open_loop\":{\"rate\":1e300"},
        {"\"achieved\":999", "\"achieved\":-1"},
        {"\"msgs\":[1,2]", "\"msgs\":[1,-2]"},
        {"\"bin_s\":0.01", "\"bin_s\":-1"},
        {"\"max_ns\":300,\"buckets\"", "\"max_ns\":1e300,\"buckets\""},
        {"\"max_ns\":300,\"buckets\"", "\"max_ns\":1.9e19,\"buckets\""},
        {"\"max_ns\":300,\"buckets\"", "\"max_ns\":300.5,\"buckets\""},
        {"\"max_ns\":300,\"buckets\"", "\"max_ns\":290,\"buckets\""},  // below its bucket
        {"\"max_ns\":300,\"buckets\"", "\"max_ns\":5000,\"buckets\""}, // above it
        {"\"min_ns\":5", "\"min_ns\":-1"},
        {"\"min_ns\":5", "\"min_ns\":4"}, // not in the lowest bucket
        {"\"min_ns\":5", "\"min_ns\":1e300"},
        {"\"count\":3", "\"count\":3.5"},
        {"\"count\":3", "\"count\":4"},
        {"\"count\":3", "\"count\":1e300"},
        {"[[5,2],[301,1]]", "[[5,2.5],[301,1]]"},
        {"[[5,2],[301,1]]", "[[5,0],[301,1]]"},
        {"[[5,2],[301,1]]", "[[5,-2],[301,1]]"},
        {"[[5,2],[301,1]]", "[[5.5,2],[301,1]]"},
        {"[[5,2],[301,1]]", "[[-5,2],[301,1]]"},
        {"[[5,2],[301,1]]", "[[1e300,2],[301,1]]"},
        {"[[5,2],[301,1]]", "[[301,1],[5,2]]"}, // out of order
        {"[[5,2],[301,1]]", "[[5,1],[5,1],[301,1]]"}, // a bucket twice
        {"[[5,2],[301,1]]", "[[5,1e18],[301,1]]"},      // above 2^53
        {"\"count\":3,\"min_ns\":5,\"max_ns\":300,\"buckets\":[[5,2],[301,1]]",
         "\"count\":18014398509481984,\"min_ns\":5,\"max_ns\":300,"
         "\"buckets\":[[5,9007199254740992],[301,9007199254740992]]"}, // the sum above 2^53
        {"\"count\":3,\"min_ns\":5,\"max_ns\":300,\"buckets\":[[5,2],[301,1]]",
         "\"count\":0,\"min_ns\":0,\"max_ns\":300,\"buckets\":[]"}, // empty with a max
    };
    const std::string good = valid_file;
    for (const auto &b : bad) {
        std::string t = good;
        size_t at = t.find(b.from);
        ASSERT_NE(at, std::string::npos) << b.from;
        t.replace(at, strlen(b.from), b.to);
        report r;
        char err[256] = "";
        EXPECT_EQ(report_read_text(t.data(), t.size(), &r, err, sizeof(err)), -EINVAL) << b.to;
        EXPECT_NE(err[0], 0) << b.to;
    }
}
