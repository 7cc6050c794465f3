// Unit tests: the core plan (engine/cores.h), a pure function of the core
// list, the shard count and the CPUs the process may use, tested on made-up
// CPU sets (style.md point 8: planning apart from doing).
#include <cerrno>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

extern "C" {
#include "cores.h"
}

namespace {

cpu_set_t Set(std::initializer_list<int> cpus)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    for (int c : cpus)
        CPU_SET(c, &s);
    return s;
}

// The machine of most tests: CPUs 0-3 and 6 allowed, 4 and 5 not.
const cpu_set_t kAllowed = Set({0, 1, 2, 3, 6});

constexpr int kUntouched = -7;

struct Plan {
    int rc;
    std::vector<int> cpus; // the first rc entries (when rc > 0)
    std::string err;       // ts_last_error() right after the call
};

// Runs cores_plan with an output array of `max` entries plus guard entries
// behind it, and checks that it wrote nothing past what it returned.
Plan PlanOf(const char *spec, unsigned count, const cpu_set_t &allowed, unsigned max = CORES_MAX)
{
    std::vector<int> out(max + 8, kUntouched);
    Plan p;
    p.rc = cores_plan(spec, count, &allowed, out.data(), max);
    p.err = ts_last_error();
    size_t used = p.rc > 0 ? static_cast<size_t>(p.rc) : 0;
    for (size_t i = max; i < out.size(); i++) {
        EXPECT_EQ(out[i], kUntouched) << "cores_plan wrote past max at " << i;
    }
    if (p.rc > 0) {
        EXPECT_LE(used, max);
    }
    p.cpus.assign(out.begin(), out.begin() + static_cast<long>(std::min<size_t>(used, max)));
    return p;
}

#define EXPECT_PLAN(spec, count, allowed, ...)                                         \
    do {                                                                               \
        Plan p_ = PlanOf((spec), (count), (allowed));                                     \
        std::vector<int> want_ = __VA_ARGS__;                                          \
        EXPECT_EQ(p_.rc, static_cast<int>(want_.size()))                               \
            << "spec '" << ((spec) ? (spec) : "(null)") << "' count " << (count)       \
            << ": " << p_.err;                                                         \
        EXPECT_EQ(p_.cpus, want_) << "spec '" << ((spec) ? (spec) : "(null)") << "'"; \
    } while (0)

#define EXPECT_REFUSED(spec, count, allowed, ...)                                           \
    do {                                                                                    \
        Plan p_ = PlanOf((spec), (count), (allowed));                                          \
        EXPECT_EQ(p_.rc, -EINVAL) << "spec '" << ((spec) ? (spec) : "(null)") << "' count " \
                                  << (count);                                               \
        bool said_ = false;                                                                 \
        for (const char *w_ : {__VA_ARGS__})                                                \
            said_ = said_ || p_.err.find(w_) != std::string::npos;                          \
        EXPECT_TRUE(said_) << "spec '" << ((spec) ? (spec) : "(null)")                      \
                           << "': the message does not name the problem: " << p_.err;       \
    } while (0)

TEST(CoresPlan, RangeGivesItsCpusInOrder)
{
    EXPECT_PLAN("0-3", 0, kAllowed, {0, 1, 2, 3});
    EXPECT_PLAN("0-3", 4, kAllowed, {0, 1, 2, 3});
    EXPECT_PLAN("1-1", 0, kAllowed, {1});
    EXPECT_PLAN("6", 1, kAllowed, {6});
}

TEST(CoresPlan, ListsAndRangesMixKeepingTheGivenOrder)
{
    EXPECT_PLAN("0-1,6", 0, kAllowed, {0, 1, 6});
    EXPECT_PLAN("0-1,6", 3, kAllowed, {0, 1, 6});
    EXPECT_PLAN("6,0,2", 0, kAllowed, {6, 0, 2});
    EXPECT_PLAN("2-3,0-1", 0, kAllowed, {2, 3, 0, 1});
}

TEST(CoresPlan, CpuNotAllowedIsRefused)
{
    EXPECT_REFUSED("2,4", 0, kAllowed, "4");
    EXPECT_REFUSED("3-5", 0, kAllowed, "4");
    EXPECT_REFUSED("5", 1, kAllowed, "5");
    EXPECT_REFUSED("999", 0, kAllowed, "999");
    EXPECT_REFUSED("1023", 0, kAllowed, "1023");
    // Past the end of a cpu_set_t: refused, not read out of bounds.
    EXPECT_REFUSED("5000", 0, kAllowed, "5000");
    EXPECT_REFUSED("0-100000", 0, kAllowed, "4");
}

TEST(CoresPlan, NoSpecTakesTheFirstAllowedCpus)
{
    EXPECT_PLAN(nullptr, 2, kAllowed, {0, 1});
    EXPECT_PLAN("", 2, kAllowed, {0, 1});
    EXPECT_PLAN("", 5, kAllowed, {0, 1, 2, 3, 6});
    EXPECT_PLAN(nullptr, 2, Set({3, 5, 7}), {3, 5});
}

TEST(CoresPlan, NoSpecAndNoCountTakesEveryAllowedCpu)
{
    EXPECT_PLAN(nullptr, 0, kAllowed, {0, 1, 2, 3, 6});
    EXPECT_PLAN("", 0, kAllowed, {0, 1, 2, 3, 6});
    EXPECT_PLAN(nullptr, 0, Set({9}), {9});
}

TEST(CoresPlan, MoreShardsThanAllowedCpusIsRefused)
{
    EXPECT_REFUSED(nullptr, 9, kAllowed, "9", "5");
    EXPECT_REFUSED(nullptr, 6, kAllowed, "6", "5");
    EXPECT_REFUSED("", 6, kAllowed, "6", "5");
}

TEST(CoresPlan, NoAllowedCpuIsRefused)
{
    cpu_set_t none;
    CPU_ZERO(&none);
    EXPECT_REFUSED(nullptr, 0, none, "core");
    EXPECT_REFUSED(nullptr, 1, none, "core");
    EXPECT_REFUSED("0", 0, none, "0");
}

TEST(CoresPlan, SpecLengthMustMatchANonZeroCount)
{
    EXPECT_REFUSED("0-3", 2, kAllowed, "2", "4");
    EXPECT_REFUSED("0-1", 3, kAllowed, "3", "2");
    EXPECT_REFUSED("6", 2, kAllowed, "2", "1");
    EXPECT_REFUSED("0-1,6", 1, kAllowed, "1", "3");
}

TEST(CoresPlan, DuplicatesAreRefused)
{
    EXPECT_REFUSED("0,0", 0, kAllowed, "twice", "0,0");
    EXPECT_REFUSED("0-2,1", 0, kAllowed, "twice", "1");
    EXPECT_REFUSED("1,0-1", 0, kAllowed, "twice", "1");
    EXPECT_REFUSED("0-3,2-3", 0, kAllowed, "twice", "2");
}

TEST(CoresPlan, ReversedRangesAreRefused)
{
    EXPECT_REFUSED("1-0", 0, kAllowed, "1-0", "backwards");
    EXPECT_REFUSED("3-1", 0, kAllowed, "3-1", "backwards");
    EXPECT_REFUSED("0,6-2", 0, kAllowed, "6-2", "backwards");
}

TEST(CoresPlan, MalformedListsAreRefused)
{
    for (const char *bad : {"0,", ",0", "0,,1", "0-", "-1", "--1", "0--1", "abc", "a-b", "0x1",
                            " 0", "0 ", "1.5", "0;1", "0-1-2", "+1", ",", "-", "0,abc",
                            "99999999999999999999"}) {
        SCOPED_TRACE(bad);
        Plan p = PlanOf(bad, 0, kAllowed);
        EXPECT_EQ(p.rc, -EINVAL) << "'" << bad << "' was accepted as " << ::testing::PrintToString(p.cpus);
        EXPECT_NE(p.err.find(bad), std::string::npos)
            << "the message does not quote the list: " << p.err;
    }
}

TEST(CoresPlan, NeverMoreThanMax)
{
    // A list longer than max is refused rather than truncated.
    Plan p = PlanOf("0-3", 0, kAllowed, 2);
    EXPECT_EQ(p.rc, -EINVAL) << p.err;
    // Without a list, max bounds what is taken; a count above it is refused.
    p = PlanOf(nullptr, 0, kAllowed, 3);
    EXPECT_EQ(p.rc, 3) << p.err;
    EXPECT_EQ(p.cpus, (std::vector<int>{0, 1, 2}));
    p = PlanOf(nullptr, 4, kAllowed, 3);
    EXPECT_EQ(p.rc, -EINVAL) << p.err;
    p = PlanOf(nullptr, 3, kAllowed, 3);
    EXPECT_EQ(p.rc, 3) << p.err;
}

TEST(CoresPlan, AllowedSetIsOnlyRead)
{
    cpu_set_t allowed = kAllowed;
    PlanOf("0-1,6", 0, allowed);
    PlanOf("4", 0, allowed);
    PlanOf(nullptr, 0, allowed);
    EXPECT_TRUE(CPU_EQUAL(&allowed, &kAllowed));
}

} // namespace
