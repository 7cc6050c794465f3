// SPDX-License-Identifier: MIT
// common_actors.cc — actors many scenarios use:
//   test.common.Echo    replies Pong (same payload) to Ping.
//   test.common.Parent  creates children on request and reports their
//                       ChildExited (as ChildGone) and any Poison it gets
//                       (as PoisonSeen) to whoever sent it its last Spawn.
//   test.common.Seq     counts numbered messages and those out of order or
//                       repeated; answers Count with both.
#include <cerrno>
#include <cstring>
#include <vector>

#include "ts_test.h"

namespace tst {

const char *const kEcho = "test.common.Echo";
const char *const kParent = "test.common.Parent";
const char *const kSeq = "test.common.Seq";

TS_TYPE_ID(kPing, "test.common.Ping")
TS_TYPE_ID(kPong, "test.common.Pong")
TS_TYPE_ID(kProbe, "test.common.Probe")
TS_TYPE_ID(kSpawn, "test.common.Spawn")
TS_TYPE_ID(kSpawned, "test.common.Spawned")
TS_TYPE_ID(kChildGone, "test.common.ChildGone")
TS_TYPE_ID(kPoisonSeen, "test.common.PoisonSeen")
TS_TYPE_ID(kNum, "test.common.Num")
TS_TYPE_ID(kCount, "test.common.Count")
namespace {

int EchoPing(ts_ctx *ctx, void *, const ts_msg *m)
{
    return ts_reply(ctx, kPong(), ts_msg_data(m), m->len);
}

const ts_handler_entry kEchoHandlers[] = {
    TS_ON("test.common.Ping", EchoPing),
    TS_HANDLERS_END,
};

const ts_actor_type kEchoType = {"test.common.Echo", 0, nullptr, nullptr, kEchoHandlers, nullptr, nullptr, nullptr};

struct ParentState {
    ts_addr watcher;
};

int ParentSpawn(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<ParentState *>(state);
    SpawnReq req{};
    if (!As(m, &req))
        return -EBADMSG;
    st->watcher = ts_sender(ctx);
    ts_create_opts o{req.arg, req.arg_len, req.global_name[0] ? req.global_name : nullptr,
                     TS_PLACE_DEFAULT, 0, 0, req.requirements[0] ? req.requirements : nullptr, nullptr};
    SpawnReply rep{};
    rep.rc = ts_create(ctx, req.type, &o, &rep.child);
    for (uint32_t i = 0; rep.rc == 0 && i < req.nprobe; i++)
        ts_send(ctx, rep.child, kProbe(), &i, sizeof i);
    return ts_reply(ctx, kSpawned(), &rep, sizeof rep);
}

int ParentChildExited(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<ParentState *>(state);
    ts_child_exited ce{};
    ChildGone g{};
    g.decode_rc = ts_child_exited_decode(m, &ce);
    g.child = ce.child;
    g.status = ce.status;
    return ts_send(ctx, st->watcher, kChildGone(), &g, sizeof g);
}

int ParentPoison(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *st = static_cast<ParentState *>(state);
    PoisonReport r;
    FillPoisonReport(m, &r);
    return ts_send(ctx, st->watcher, kPoisonSeen(), &r, sizeof r);
}

const ts_handler_entry kParentHandlers[] = {
    TS_ON("test.common.Spawn", ParentSpawn),
    TS_ON_ID(TS_MSG_CHILD_EXITED, ParentChildExited),
    TS_ON_ID(TS_MSG_POISON, ParentPoison),
    TS_HANDLERS_END,
};

const ts_actor_type kParentType = {"test.common.Parent", sizeof(ParentState), nullptr, nullptr,
                                   kParentHandlers, nullptr, nullptr, nullptr};

} // namespace

namespace {

struct SeqState {
    uint64_t next, bad;
};

int SeqNum(ts_ctx *, void *state, const ts_msg *m)
{
    auto *st = static_cast<SeqState *>(state);
    uint64_t v;
    if (m->len < sizeof v)
        return -EBADMSG;
    std::memcpy(&v, ts_msg_data(m), sizeof v);
    st->bad += v != st->next;
    st->next = v + 1;
    return 0;
}

int SeqCount(ts_ctx *ctx, void *state, const ts_msg *)
{
    auto *st = static_cast<SeqState *>(state);
    uint64_t r[2] = {st->next, st->bad};
    return ts_reply(ctx, kCount(), r, sizeof r);
}

const ts_handler_entry kSeqHandlers[] = {
    TS_ON("test.common.Num", SeqNum),
    TS_ON("test.common.Count", SeqCount),
    TS_HANDLERS_END,
};
const ts_actor_type kSeqType = {"test.common.Seq", sizeof(SeqState), nullptr, nullptr,
                                kSeqHandlers, nullptr, nullptr, nullptr};

} // namespace

int RegisterCommonActors()
{
    int rc = ts_register_actor_type(&kEchoType);
    if (rc == 0)
        rc = ts_register_actor_type(&kParentType);
    if (rc == 0)
        rc = ts_register_actor_type(&kSeqType);
    return rc;
}

void SendNumbers(ts_system *sys, ts_addr seq, uint64_t from, uint64_t to, size_t pad)
{
    std::vector<unsigned char> p(pad < 8 ? 8 : pad, 'n');
    for (uint64_t i = from; i < to; i++) {
        std::memcpy(p.data(), &i, 8);
        ASSERT_EQ(TellAgain(sys, seq, kNum(), p.data(), p.size()), 0) << ts_last_error();
    }
}

std::pair<uint64_t, uint64_t> Counted(ts_system *sys, ts_addr seq)
{
    Msg r = AskAgain(sys, seq, kCount(), nullptr, 0);
    uint64_t got[2] = {0, UINT64_MAX};
    if (r && r->len == sizeof got)
        std::memcpy(got, ts_msg_data(r.get()), sizeof got);
    return {got[0], got[1]};
}

} // namespace tst
