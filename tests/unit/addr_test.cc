// Unit tests: the address encoding (design §3).
#include <cerrno>
#include <string>

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

TEST(Addr, ParsesWhatItFormats)
{
    const ts_addr samples[] = {ts_addr_make(3, 1, 42, 7), ts_addr_make(0, 0, 0, 1),
                               ts_addr_make(0xFFFF, 0xFF, TS_ADDR_MAX_SLOT, 0xFFFF),
                               ts_addr_make(12, 0, 100000, 65000)};
    for (ts_addr a : samples) {
        char buf[32];
        ts_addr back = 0;
        ASSERT_EQ(ts_addr_parse(ts_addr_format(a, buf, sizeof(buf)), &back), 0) << buf;
        EXPECT_EQ(back, a) << buf;
    }
    ts_addr none = 1;
    EXPECT_EQ(ts_addr_parse("0.0.0.0", &none), 0);
    EXPECT_EQ(none, TS_ADDR_NONE);
    ts_addr lead = 0;
    EXPECT_EQ(ts_addr_parse("00001.002.0003.04", &lead), 0); // leading zeros are digits
    EXPECT_EQ(lead, ts_addr_make(1, 2, 3, 4));
}

TEST(Addr, ParseRefusesAnythingElse)
{
    const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "a.b.c.d",
                         "1.2.3.4 ", " 1.2.3.4", "1.2.3.4\n", "+1.2.3.4", "-1.2.3.4",
                         "1.2.3.0x4", "65536.0.0.1", "0.256.0.1", "0.0.16777216.1",
                         "0.0.0.65536", "4294967297.0.0.1", "000000000001.0.0.1", "$1", "e",
                         "1,2,3,4"};
    for (const char *text : bad) {
        ts_addr out = 77;
        EXPECT_EQ(ts_addr_parse(text, &out), -EINVAL) << "'" << text << "'";
        EXPECT_EQ(out, 77u) << "'" << text << "'";
        EXPECT_NE(std::string(ts_last_error()).find("not an address"), std::string::npos)
            << ts_last_error();
    }
    ts_addr out;
    EXPECT_EQ(ts_addr_parse(nullptr, &out), -EINVAL);
    EXPECT_EQ(ts_addr_parse("1.2.3.4", nullptr), -EINVAL);
}
