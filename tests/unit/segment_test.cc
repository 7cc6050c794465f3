// Unit tests: shared-memory segments (shm/segment.h).
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "segment.h"

TEST(Segment, CreatesZeroedMemoryOfAtLeastTheSizeAsked)
{
    shm_segment s;
    ASSERT_EQ(shm_segment_create(&s, "thespis-test", 10000), 0);
    ASSERT_NE(s.base, nullptr);
    EXPECT_GE(s.size, 10000u);
    EXPECT_EQ(s.size % static_cast<size_t>(sysconf(_SC_PAGESIZE)), 0u);
    EXPECT_EQ(s.size % (s.huge ? (2u << 20) : 1u), 0u);
    EXPECT_GE(s.fd, 0);
    const unsigned char *p = static_cast<const unsigned char *>(s.base);
    size_t nonzero = 0;
    for (size_t i = 0; i < s.size; i++)
        nonzero += p[i] != 0;
    EXPECT_EQ(nonzero, 0u);
    shm_segment_destroy(&s);
    EXPECT_EQ(s.base, nullptr);
    EXPECT_EQ(s.fd, -1);
}

TEST(Segment, TheFdMapsTheSamePages)
{
    shm_segment s;
    ASSERT_EQ(shm_segment_create(&s, "thespis-test", 4096), 0);
    void *other = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, s.fd, 0);
    ASSERT_NE(other, MAP_FAILED);
    std::strcpy(static_cast<char *>(s.base) + 100, "through the first mapping");
    EXPECT_STREQ(static_cast<char *>(other) + 100, "through the first mapping");
    static_cast<char *>(other)[s.size - 1] = 'x';
    EXPECT_EQ(static_cast<char *>(s.base)[s.size - 1], 'x');
    munmap(other, s.size);
    shm_segment_destroy(&s);
}

TEST(Segment, DestroyIsIdempotentAndNullSafe)
{
    shm_segment s;
    ASSERT_EQ(shm_segment_create(&s, "thespis-test", 1), 0);
    shm_segment_destroy(&s);
    shm_segment_destroy(&s);
    shm_segment_destroy(nullptr);
}

TEST(Segment, AFailedCreateIsSafeToDestroy)
{
    shm_segment s;
    EXPECT_EQ(shm_segment_create(&s, "thespis-test", 0), -EINVAL);
    shm_segment_destroy(&s);
    EXPECT_EQ(shm_segment_create(&s, "thespis-test", SIZE_MAX), -ENOMEM);
    shm_segment_destroy(&s);
}
