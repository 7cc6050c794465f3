// SPDX-License-Identifier: MIT
// all_headers_test.cc — every public header together in one C++ TU (twice,
// for the include guards), with the inline helpers and C linkage checked.
#include <thespis/export.h>
#include <thespis/log.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include <thespis/export.h>
#include <thespis/log.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include <cstring>
#include <type_traits>

#include <gtest/gtest.h>

namespace {

int Nop(ts_ctx *, void *, const ts_msg *) { return 0; }

TEST(PublicHeaders, address_fields_round_trip)
{
    ts_addr a = ts_addr_make(0xbeef, 0x7f, 0xabcdef, 0x1234);
    EXPECT_EQ(ts_addr_node(a), 0xbeef);
    EXPECT_EQ(ts_addr_shard(a), 0x7f);
    EXPECT_EQ(ts_addr_slot(a), 0xabcdefu);
    EXPECT_EQ(ts_addr_gen(a), 0x1234);
    EXPECT_EQ(ts_addr_slot(ts_addr_make(0, 0, TS_ADDR_MAX_SLOT + 2, 0)), 1u)
        << "the slot is truncated to its width";
    EXPECT_EQ(TS_ADDR_NONE, ts_addr{0});
    EXPECT_EQ(TS_ADDR_GEN_BITS + TS_ADDR_SLOT_BITS + TS_ADDR_SHARD_BITS + TS_ADDR_NODE_BITS, 64);
}

TEST(PublicHeaders, message_envelope_layout)
{
    static_assert(sizeof(ts_msg) == 32, "envelope");
    static_assert(std::is_trivially_copyable<ts_msg>::value, "plain bytes");
    alignas(8) unsigned char buf[sizeof(ts_msg) + 8] = {};
    auto *m = reinterpret_cast<ts_msg *>(buf);
    EXPECT_EQ(static_cast<const unsigned char *>(ts_msg_data(m)), buf + sizeof(ts_msg));
}

TEST(PublicHeaders, handler_table_macros_build_tables)
{
    const ts_handler_entry table[] = {
        TS_ON("test.headers.A", Nop),
        TS_ON_ID(UINT64_C(42), Nop),
        TS_HANDLERS_END,
    };
    EXPECT_STREQ(table[0].type_name, "test.headers.A");
    EXPECT_EQ(table[1].type_name, nullptr);
    EXPECT_EQ(table[1].type_id, 42u);
    EXPECT_EQ(table[2].fn, nullptr);
    const ts_actor_type t = {"test.headers.T", 0, nullptr, nullptr, table, nullptr, nullptr, nullptr};
    EXPECT_EQ(t.handlers, table);
}

TEST(PublicHeaders, enums_and_constants)
{
    EXPECT_LT(TS_LOG_DEBUG, TS_LOG_INFO);
    EXPECT_LT(TS_LOG_INFO, TS_LOG_WARNING);
    EXPECT_LT(TS_LOG_WARNING, TS_LOG_ERROR);
    EXPECT_LT(TS_LOG_ERROR, TS_LOG_OFF);
    EXPECT_EQ(TS_BASE_SIMPLE, 0);
    EXPECT_EQ(TS_DEFAULT_MAX_MSG_SIZE, size_t{64} << 20);
    EXPECT_EQ(TS_FOREVER, UINT64_MAX);
    const uint64_t ids[] = {TS_MSG_EXIT_REQUEST, TS_MSG_CHILD_EXITED, TS_MSG_POISON,
                            TS_MSG_WAKEUP, TS_MSG_DEAD_LETTER};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = i + 1; j < 5; j++)
            EXPECT_NE(ids[i], ids[j]);
}

// The declarations link from C++ (extern "C" is right).
TEST(PublicHeaders, functions_link_from_cxx)
{
    EXPECT_STREQ(ts_base_name(TS_BASE_SIMPLE), "simple");
    EXPECT_STREQ(ts_log_level_name(TS_LOG_WARNING), "warning");
    EXPECT_STREQ(ts_sysmsg_name(TS_MSG_POISON), "ts.Poison");
    EXPECT_EQ(ts_type_id("ts.Poison"), TS_MSG_POISON);
    char buf[32];
    EXPECT_STREQ(ts_addr_format(ts_addr_make(1, 2, 3, 4), buf, sizeof buf), "1.2.3.4");
    EXPECT_NE(ts_last_error(), nullptr);
}

} // namespace
