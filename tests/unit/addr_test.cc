// Unit tests: the address encoding (design §3).
#include <gtest/gtest.h>

#include <thespis/thespis.h>

TEST(Addr, FieldsRoundTrip)
{
    ts_addr a = ts_addr_make(0xBEEF, 0x7A, 0xABCDEF, 0x1234);
    EXPECT_EQ(ts_addr_node(a), 0xBEEF);
    EXPECT_EQ(ts_addr_shard(a), 0x7A);
    EXPECT_EQ(ts_addr_slot(a), 0xABCDEFu);
    EXPECT_EQ(ts_addr_gen(a), 0x1234);
    EXPECT_EQ(a, UINT64_C(0xBEEF7AABCDEF1234));
}

TEST(Addr, SlotIsTruncatedToItsWidth)
{
    ts_addr a = ts_addr_make(1, 2, 0x1FFFFFF, 3);
    EXPECT_EQ(ts_addr_slot(a), TS_ADDR_MAX_SLOT);
    EXPECT_EQ(ts_addr_shard(a), 2);
    EXPECT_EQ(ts_addr_node(a), 1);
}

TEST(Addr, ZeroGenerationIsNeverValidAndNoneIsZero)
{
    EXPECT_EQ(TS_ADDR_NONE, 0u);
    EXPECT_EQ(ts_addr_gen(ts_addr_make(0, 0, 0, 0)), 0);
}

TEST(Addr, Formats)
{
    char buf[32];
    EXPECT_STREQ(ts_addr_format(ts_addr_make(3, 1, 42, 7), buf, sizeof(buf)), "3.1.42.7");
    char tiny[4];
    ts_addr_format(ts_addr_make(3, 1, 42, 7), tiny, sizeof(tiny));
    EXPECT_STREQ(tiny, "3.1");
}
