// Unit tests: the timer heap, against a std::set model.
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "timer_heap.h"
}

namespace {
struct Heap {
    timer_heap h{};
    ~Heap() { th_fini(&h); }
};
} // namespace

TEST(TimerHeap, PopsInDeadlineOrderTiesInPushOrder)
{
    Heap heap;
    std::vector<th_node> nodes(6);
    const uint64_t deadlines[] = {50, 10, 50, 30, 10, 20};
    for (size_t i = 0; i < nodes.size(); i++) {
        nodes[i].deadline = deadlines[i];
        ASSERT_EQ(th_push(&heap.h, &nodes[i]), 0);
    }
    const size_t expect[] = {1, 4, 5, 3, 0, 2};
    for (size_t i : expect)
        EXPECT_EQ(th_pop(&heap.h), &nodes[i]);
    EXPECT_EQ(th_pop(&heap.h), nullptr);
    EXPECT_EQ(th_peek(&heap.h), nullptr);
}

TEST(TimerHeap, RandomPushRemovePopMatchesAModel)
{
    Heap heap;
    std::mt19937_64 rng(42);
    std::vector<th_node> nodes(4000);
    std::vector<bool> in(nodes.size());
    std::set<std::pair<std::pair<uint64_t, uint64_t>, th_node *>> model;
    for (int step = 0; step < 100000; step++) {
        size_t i = rng() % nodes.size();
        int op = (int)(rng() % 3);
        if (op == 0 && !in[i]) {
            nodes[i].deadline = rng() % 1000;
            ASSERT_EQ(th_push(&heap.h, &nodes[i]), 0);
            model.insert({{nodes[i].deadline, nodes[i].seq}, &nodes[i]});
            in[i] = true;
        } else if (op == 1 && in[i]) {
            th_remove(&heap.h, &nodes[i]);
            model.erase({{nodes[i].deadline, nodes[i].seq}, &nodes[i]});
            in[i] = false;
        } else if (op == 2) {
            th_node *n = th_pop(&heap.h);
            if (model.empty()) {
                ASSERT_EQ(n, nullptr);
                continue;
            }
            ASSERT_EQ(n, model.begin()->second);
            model.erase(model.begin());
            in[(size_t)(n - nodes.data())] = false;
        }
        ASSERT_EQ(heap.h.n, model.size());
    }
}
