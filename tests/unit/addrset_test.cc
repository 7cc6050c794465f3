// Unit tests: the children set, against a std::set model.
#include <random>
#include <set>

#include <gtest/gtest.h>

extern "C" {
#include "addrset.h"
}

static void collect(ts_addr a, void *arg)
{
    static_cast<std::set<ts_addr> *>(arg)->insert(a);
}

TEST(Addrset, RandomOperationsMatchAModel)
{
    addrset s{};
    std::set<ts_addr> model;
    std::mt19937_64 rng(7);
    for (int step = 0; step < 200000; step++) {
        ts_addr a = ts_addr_make(0, 0, (uint32_t)(rng() % 3000), 1);
        if (rng() % 2) {
            ASSERT_EQ(addrset_add(&s, a), 0);
            model.insert(a);
        } else {
            ASSERT_EQ(addrset_remove(&s, a), model.erase(a) == 1);
        }
        ASSERT_EQ(s.n, model.size());
        if (step % 5000 == 0) {
            std::set<ts_addr> seen;
            addrset_foreach(&s, collect, &seen);
            ASSERT_EQ(seen, model);
        }
    }
    for (ts_addr a : model)
        EXPECT_TRUE(addrset_has(&s, a));
    addrset_fini(&s);
}
