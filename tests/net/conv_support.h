// conv_support.h — what the convention suites share (convention_test.cc on
// loopback, convention_hosts_test.cc across namespaces): a bounded wait on a
// condition, a node's member table, and a watcher actor type.
#ifndef TS_TESTS_NET_CONV_SUPPORT_H
#define TS_TESTS_NET_CONV_SUPPORT_H

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "ts_test.h"

namespace convt {

// Polls cond every millisecond until it holds or tst::kWait passes.
inline bool WaitUntil(const std::function<bool()> &cond)
{
    auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(tst::kWait);
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// sys's member table (empty when it is in no convention).
inline std::vector<ts_node_member> Members(ts_system *sys)
{
    std::vector<ts_node_member> v(TS_NODE_MAX_MEMBERS);
    int n = ts_convention_members(sys, v.data(), (unsigned)v.size());
    v.resize(n < 0 ? 0 : (size_t)n);
    return v;
}

// node's entry in v, or nullptr.
inline const ts_node_member *Find(const std::vector<ts_node_member> &v, uint16_t node)
{
    for (const auto &m : v)
        if (m.node == node)
            return &m;
    return nullptr;
}

// test.convt.Watcher: watches the convention and passes every
// ConventionUpdate on to the caller whose address init was given.
struct WatcherState {
    ts_addr to;
};
inline int WatcherInit(ts_ctx *ctx, void *state, const void *arg, size_t len)
{
    if (len != sizeof(ts_addr))
        return -EINVAL;
    std::memcpy(&static_cast<WatcherState *>(state)->to, arg, len);
    return ts_notify_on_convention(ctx, true);
}
inline int WatcherAny(ts_ctx *ctx, void *state, const ts_msg *m)
{
    if (m->type != TS_MSG_CONVENTION_UPDATE)
        return 0;
    return ts_send(ctx, static_cast<WatcherState *>(state)->to, m->type, ts_msg_data(m), m->len);
}
inline const ts_actor_type kWatcherType = {"test.convt.Watcher", sizeof(WatcherState),
                                           WatcherInit, nullptr, nullptr, WatcherAny, nullptr,
                                           nullptr};

} // namespace convt

#endif
