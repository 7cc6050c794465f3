// Unit tests: the simple base's run queue.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include "mailq.h"
}

namespace {
struct Q {
    mailq q{};
    ~Q() { mailq_fini(&q); }
};
} // namespace

TEST(Mailq, FifoWithMixedSizesAcrossChunks)
{
    Q q;
    std::vector<size_t> sizes;
    for (size_t i = 0; i < 5000; i++)
        sizes.push_back((i * 7919) % 300);
    sizes.push_back(3 * MAILQ_CHUNK); // larger than a chunk
    sizes.push_back(1);
    for (size_t i = 0; i < sizes.size(); i++) {
        ts_msg *m = mailq_push(&q.q, sizes[i]);
        ASSERT_NE(m, nullptr);
        m->type = i;
        memset(m + 1, (int)(i & 0xff), sizes[i]);
    }
    EXPECT_EQ(q.q.count, sizes.size());
    for (size_t i = 0; i < sizes.size(); i++) {
        ts_msg *m = mailq_peek(&q.q);
        ASSERT_NE(m, nullptr);
        ASSERT_EQ(m->type, i);
        ASSERT_EQ(m->len, sizes[i]);
        const unsigned char *p = (const unsigned char *)ts_msg_data(m);
        for (size_t k = 0; k < sizes[i]; k += 97)
            ASSERT_EQ(p[k], (unsigned char)(i & 0xff));
        mailq_pop(&q.q);
    }
    EXPECT_EQ(mailq_peek(&q.q), nullptr);
    EXPECT_EQ(q.q.count, 0u);
}

TEST(Mailq, TheHeadStaysPutWhileMoreIsPushed)
{
    Q q;
    ts_msg *head = mailq_push(&q.q, 8);
    head->type = 77;
    for (int i = 0; i < 10000; i++)
        ASSERT_NE(mailq_push(&q.q, 100), nullptr);
    EXPECT_EQ(mailq_peek(&q.q), head);
    EXPECT_EQ(head->type, 77u);
}

static void count_type(ts_msg *m, void *arg)
{
    if (m->type == 5)
        ++*(int *)arg;
}

TEST(Mailq, ForeachVisitsEveryQueuedMessage)
{
    Q q;
    for (int i = 0; i < 3000; i++)
        mailq_push(&q.q, 40)->type = (uint64_t)(i % 10);
    for (int i = 0; i < 1000; i++)
        mailq_pop(&q.q);
    int n = 0;
    mailq_foreach(&q.q, count_type, &n);
    EXPECT_EQ(n, 200);
}

// A message larger than a chunk pushed after the queue was emptied comes out
// (the emptied chunk must not stay in front of it).
TEST(Mailq, LargeMessageAfterEmptyingIsSeen)
{
    Q q;
    ts_msg *m = mailq_push(&q.q, 100);
    ASSERT_NE(m, nullptr);
    mailq_pop(&q.q);
    EXPECT_EQ(mailq_peek(&q.q), nullptr);
    ts_msg *big = mailq_push(&q.q, 2 * MAILQ_CHUNK);
    ASSERT_NE(big, nullptr);
    big->type = 42;
    EXPECT_EQ(mailq_peek(&q.q), big);
    mailq_pop(&q.q);
    ts_msg *small = mailq_push(&q.q, 8);
    ASSERT_NE(small, nullptr);
    EXPECT_EQ(mailq_peek(&q.q), small);
    mailq_pop(&q.q);
    EXPECT_EQ(mailq_peek(&q.q), nullptr);
    EXPECT_EQ(q.q.count, 0u);
}
