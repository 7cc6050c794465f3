// Unit tests: type ids and the registries of message and actor types.
#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>
#include <xxhash.h>

#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

extern "C" {
#include "typeid.h"
}

TEST(TypeId, IsXxh3OfTheName)
{
    const char *n = "examples.Greeting";
    EXPECT_EQ(ts_type_id(n), XXH3_64bits(n, strlen(n)));
    EXPECT_NE(ts_type_id("a"), ts_type_id("b"));
}

TEST(TypeId, SystemConstantsMatchTheirNames)
{
    const uint64_t ids[] = {TS_MSG_EXIT_REQUEST, TS_MSG_CHILD_EXITED, TS_MSG_POISON,
                            TS_MSG_WAKEUP, TS_MSG_DEAD_LETTER, TS_MSG_CONVENTION_UPDATE,
                            TS_MSG_STATUS_REQUEST, TS_MSG_STATUS};
    for (uint64_t id : ids) {
        const char *name = ts_sysmsg_name(id);
        ASSERT_NE(name, nullptr);
        EXPECT_EQ(ts_type_id(name), id) << name;
    }
    EXPECT_EQ(ts_sysmsg_name(ts_type_id("user.Thing")), nullptr);
}

TEST(TypeId, RegisteringANameTwiceIsFine)
{
    uint64_t a = 0, b = 0;
    ASSERT_EQ(ts_register_msg_type("unit.Twice", &a), 0);
    ASSERT_EQ(ts_register_msg_type("unit.Twice", &b), 0);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, ts_type_id("unit.Twice"));
    EXPECT_STREQ(msgtype_name(a), "unit.Twice");
}

TEST(TypeId, ACollisionIsAnError)
{
    uint64_t id = ts_type_id("unit.Original");
    ASSERT_EQ(ts_register_msg_type("unit.Original", nullptr), 0);
    EXPECT_EQ(msgtype_register("unit.Impostor", id), -EEXIST);
    EXPECT_NE(std::strstr(ts_last_error(), "collides"), nullptr) << ts_last_error();
    EXPECT_STREQ(msgtype_name(id), "unit.Original");
}

TEST(TypeId, EmptyNamesAreRefused)
{
    EXPECT_EQ(ts_register_msg_type(nullptr, nullptr), -EINVAL);
    EXPECT_EQ(ts_register_msg_type("", nullptr), -EINVAL);
}

static int noop(ts_ctx *, void *, const ts_msg *) { return 0; }

TEST(ActorTypes, DuplicateHandlerIdsAreRefused)
{
    static const ts_handler_entry h[] = {TS_ON("unit.Dup", noop), TS_ON_ID(ts_type_id("unit.Dup"), noop),
                                         TS_HANDLERS_END};
    static const ts_actor_type t = {"unit.DupActor", 0, nullptr, nullptr, h, nullptr, nullptr, nullptr};
    EXPECT_EQ(ts_register_actor_type(&t), -EEXIST);
    EXPECT_NE(std::strstr(ts_last_error(), "two handlers"), nullptr) << ts_last_error();
}

TEST(ActorTypes, ANameWhoseIdDisagreesIsRefused)
{
    static const ts_handler_entry h[] = {{"unit.Named", 12345, noop}, TS_HANDLERS_END};
    static const ts_actor_type t = {"unit.MismatchActor", 0, nullptr, nullptr, h, nullptr, nullptr, nullptr};
    EXPECT_EQ(ts_register_actor_type(&t), -EINVAL);
}

TEST(ActorTypes, SameStructTwiceIsFineAnotherWithTheNameIsNot)
{
    static const ts_handler_entry h[] = {TS_ON("unit.Ping", noop), TS_HANDLERS_END};
    static const ts_actor_type t = {"unit.Twice", 0, nullptr, nullptr, h, nullptr, nullptr, nullptr};
    static const ts_actor_type other = {"unit.Twice", 8, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    EXPECT_EQ(ts_register_actor_type(&t), 0);
    EXPECT_EQ(ts_register_actor_type(&t), 0);
    EXPECT_EQ(ts_register_actor_type(&other), -EEXIST);
}

TEST(ActorTypes, BadArgumentsAreRefused)
{
    static const ts_actor_type unnamed = {"", 0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
    EXPECT_EQ(ts_register_actor_type(nullptr), -EINVAL);
    EXPECT_EQ(ts_register_actor_type(&unnamed), -EINVAL);
}
