// SPDX-License-Identifier: MIT
//
// authority_test.cc — the bundled Source Authority (TS_SIGNATURE_AUTHORITY,
// engine/authority.c) on the simple base: asked with hand-built
// ValidateImage payloads, it approves what one of its keys signed and
// refuses the rest, saying why; a bad creation argument fails its init; and
// authority_start makes it a node's authority from public key files.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/image.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

extern "C" {
#include "authority.h"
}

namespace {

constexpr uint64_t kTimeout = 10ull * 1000 * 1000 * 1000;

struct Pair {
    std::string secret, pub;
    std::vector<uint8_t> pk; // TS_SIGN_PUBLIC_BYTES
};

// An answer of the authority, copied out of its message.
struct Answer {
    int rc = -1;             // of ts_ask (or of decoding)
    uint64_t type = 0;
    ts_image_id id{};
    bool ok = false;
    std::string reason;
    int32_t poison_reason = 0; // when type is TS_MSG_POISON
};

std::vector<uint8_t> Bytes(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// A ValidateImage payload: id (16) | u64 len | u32 sig_len | u32 zero |
// bytes | sig, little-endian.
std::vector<uint8_t> Payload(const ts_image_id &id, const std::vector<uint8_t> &bytes,
                             const std::vector<uint8_t> &sig)
{
    std::vector<uint8_t> p(id.b, id.b + 16);
    uint64_t len = bytes.size();
    for (int i = 0; i < 8; i++)
        p.push_back(uint8_t(len >> (8 * i)));
    uint32_t sl = uint32_t(sig.size());
    for (int i = 0; i < 4; i++)
        p.push_back(uint8_t(sl >> (8 * i)));
    for (int i = 0; i < 4; i++)
        p.push_back(0);
    p.insert(p.end(), bytes.begin(), bytes.end());
    p.insert(p.end(), sig.begin(), sig.end());
    return p;
}

ts_image_id IdOf(const std::vector<uint8_t> &bytes)
{
    ts_image_id id;
    ts_image_id_of(bytes.data(), bytes.size(), &id);
    return id;
}

std::string Text(const ts_image_id &id)
{
    char buf[TS_IMAGE_ID_TEXT];
    return ts_image_id_format(&id, buf, sizeof buf);
}

class Authority : public ::testing::Test {
protected:
    ts_system *sys = nullptr;
    std::string dir;
    std::vector<std::string> made;
    std::mutex log_mu;
    std::vector<std::pair<ts_log_level, std::string>> logs;

    static void OnLog(void *user, const ts_log_record *rec)
    {
        auto *self = static_cast<Authority *>(user);
        std::lock_guard<std::mutex> g(self->log_mu);
        self->logs.emplace_back(rec->level, rec->text);
    }

    void SetUp() override
    {
        char tmpl[] = "/tmp/ts-authority-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = TS_BASE_SIMPLE;
        cfg.log.level = TS_LOG_INFO;
        cfg.log.sink = TS_LOG_SINK_CALLBACK;
        cfg.log.fn = OnLog;
        cfg.log.user = this;
        ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    }
    void TearDown() override
    {
        ts_system_close(sys);
        for (const auto &p : made)
            unlink(p.c_str());
        rmdir(dir.c_str());
    }

    std::string Path(const std::string &name)
    {
        made.push_back(dir + "/" + name);
        return made.back();
    }

    Pair NewPair(const std::string &name)
    {
        Pair p;
        p.secret = Path(name + ".key");
        p.pub = Path(name + ".pub");
        EXPECT_EQ(ts_sign_keygen(p.secret.c_str(), p.pub.c_str()), 0) << ts_last_error();
        p.pk.resize(TS_SIGN_PUBLIC_BYTES);
        EXPECT_EQ(ts_sign_public_load(p.pub.c_str(), p.pk.data()), 0) << ts_last_error();
        return p;
    }

    static std::vector<uint8_t> SignWith(const Pair &p, const std::vector<uint8_t> &bytes)
    {
        std::vector<uint8_t> sig(TS_SIGN_BYTES);
        EXPECT_EQ(ts_sign_bytes(p.secret.c_str(), bytes.data(), bytes.size(), sig.data()), 0)
            << ts_last_error();
        return sig;
    }

    ts_addr Start(const std::vector<uint8_t> &arg)
    {
        ts_create_opts opts{};
        opts.arg = arg.data();
        opts.arg_len = arg.size();
        ts_addr a = TS_ADDR_NONE;
        EXPECT_EQ(ts_system_create(sys, TS_SIGNATURE_AUTHORITY, &opts, &a), 0) << ts_last_error();
        return a;
    }
    ts_addr Start(const std::vector<Pair> &keys)
    {
        std::vector<uint8_t> arg;
        for (const auto &k : keys)
            arg.insert(arg.end(), k.pk.begin(), k.pk.end());
        return Start(arg);
    }

    Answer Ask(ts_addr a, const std::vector<uint8_t> &payload, uint64_t timeout = kTimeout)
    {
        Answer ans;
        ts_msg *m = nullptr;
        ans.rc = ts_ask(sys, a, TS_MSG_VALIDATE_IMAGE, payload.data(), payload.size(), timeout,
                        &m);
        if (ans.rc < 0)
            return ans;
        ans.type = m->type;
        if (m->type == TS_MSG_POISON) {
            ts_poison p{};
            ans.rc = ts_poison_decode(m, &p);
            ans.poison_reason = p.reason;
        } else {
            ts_validated_image v{};
            ans.rc = ts_validated_image_decode(m, &v);
            if (ans.rc == 0) {
                ans.id = v.id;
                ans.ok = v.ok;
                ans.reason.assign(v.reason, v.reason_len);
            }
        }
        ts_msg_free(m);
        return ans;
    }

    bool Logged(ts_log_level level, const std::string &a, const std::string &b = "")
    {
        std::lock_guard<std::mutex> g(log_mu);
        for (const auto &l : logs)
            if (l.first == level && l.second.find(a) != std::string::npos &&
                l.second.find(b) != std::string::npos)
                return true;
        return false;
    }
    std::string LogDump()
    {
        std::lock_guard<std::mutex> g(log_mu);
        std::string s;
        for (const auto &l : logs)
            s += std::string(ts_log_level_name(l.first)) + ": " + l.second + "\n";
        return s;
    }
};

const std::vector<uint8_t> kImage = Bytes("pretend these are the bytes of a shared object");

TEST_F(Authority, ApprovesASignatureOfAnyOfItsKeys)
{
    Pair a = NewPair("a"), b = NewPair("b"), c = NewPair("c");
    ts_addr auth = Start({a, b, c});
    ts_image_id id = IdOf(kImage);
    for (const Pair *p : {&b, &a, &c}) {
        Answer ans = Ask(auth, Payload(id, kImage, SignWith(*p, kImage)));
        ASSERT_EQ(ans.rc, 0) << ts_last_error();
        ASSERT_EQ(ans.type, TS_MSG_VALIDATED_IMAGE);
        EXPECT_TRUE(ans.ok) << ans.reason;
        EXPECT_EQ(std::memcmp(ans.id.b, id.b, 16), 0);
    }
    EXPECT_TRUE(Logged(TS_LOG_INFO, "image " + Text(id) + " approved", "key 2 of 3"))
        << LogDump();
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(sys, &st), 0);
    EXPECT_EQ(st.restarts, 0u);
}

TEST_F(Authority, RefusesASignatureOfAnotherKey)
{
    Pair a = NewPair("a"), b = NewPair("b"), c = NewPair("c");
    ts_image_id id = IdOf(kImage);
    ts_addr two = Start({a, c});
    Answer ans = Ask(two, Payload(id, kImage, SignWith(b, kImage)));
    ASSERT_EQ(ans.rc, 0) << ts_last_error();
    ASSERT_EQ(ans.type, TS_MSG_VALIDATED_IMAGE);
    EXPECT_FALSE(ans.ok);
    EXPECT_EQ(std::memcmp(ans.id.b, id.b, 16), 0);
    EXPECT_EQ(ans.reason, "signature does not verify with any of the 2 keys");
    EXPECT_TRUE(Logged(TS_LOG_WARNING, "image " + Text(id) + " refused", ans.reason))
        << LogDump();

    ts_addr one = Start({a});
    ans = Ask(one, Payload(id, kImage, SignWith(b, kImage)));
    ASSERT_EQ(ans.rc, 0);
    EXPECT_FALSE(ans.ok);
    EXPECT_EQ(ans.reason, "signature does not verify with the 1 key");

    // a's signature of other bytes is no signature of these.
    ans = Ask(one, Payload(id, kImage, SignWith(a, Bytes("other bytes"))));
    ASSERT_EQ(ans.rc, 0);
    EXPECT_FALSE(ans.ok);
    // Nor is a signature that is not 64 bytes.
    std::vector<uint8_t> sig = SignWith(a, kImage);
    sig.pop_back();
    ans = Ask(one, Payload(id, kImage, sig));
    ASSERT_EQ(ans.rc, 0);
    EXPECT_FALSE(ans.ok);
    EXPECT_NE(ans.reason.find("signature does not verify"), std::string::npos) << ans.reason;
    EXPECT_NE(ans.reason.find("63 bytes"), std::string::npos) << ans.reason;
}

TEST_F(Authority, RefusesAnUnsignedImage)
{
    Pair a = NewPair("a");
    ts_addr auth = Start({a});
    ts_image_id id = IdOf(kImage);
    Answer ans = Ask(auth, Payload(id, kImage, {}));
    ASSERT_EQ(ans.rc, 0) << ts_last_error();
    ASSERT_EQ(ans.type, TS_MSG_VALIDATED_IMAGE);
    EXPECT_FALSE(ans.ok);
    EXPECT_EQ(ans.reason, "unsigned");
    EXPECT_EQ(std::memcmp(ans.id.b, id.b, 16), 0);
    EXPECT_TRUE(Logged(TS_LOG_WARNING, "image " + Text(id) + " refused: unsigned")) << LogDump();
}

TEST_F(Authority, RefusesBytesThatAreNotTheImageItNames)
{
    Pair a = NewPair("a");
    ts_addr auth = Start({a});
    std::vector<uint8_t> other = Bytes("some other shared object");
    ts_image_id claimed = IdOf(other);
    // Correctly signed, but the id is another image's.
    Answer ans = Ask(auth, Payload(claimed, kImage, SignWith(a, kImage)));
    ASSERT_EQ(ans.rc, 0) << ts_last_error();
    EXPECT_FALSE(ans.ok);
    EXPECT_EQ(std::memcmp(ans.id.b, claimed.b, 16), 0) << "the answer names the claimed id";
    EXPECT_EQ(ans.reason.rfind("hash mismatch", 0), 0u) << ans.reason;
    EXPECT_NE(ans.reason.find(Text(IdOf(kImage))), std::string::npos) << ans.reason;
    EXPECT_TRUE(Logged(TS_LOG_WARNING, "image " + Text(claimed) + " refused: hash mismatch"))
        << LogDump();
}

TEST_F(Authority, AMalformedRequestIsRefusedOrDroppedAndTheActorGoesOn)
{
    Pair a = NewPair("a");
    ts_addr auth = Start({a});
    ts_image_id id = IdOf(kImage);
    std::vector<uint8_t> good = Payload(id, kImage, SignWith(a, kImage));

    // Lengths that do not add up: the id is readable, so a refusal names it.
    for (size_t cut : {size_t(1), size_t(40), good.size() - 17}) {
        std::vector<uint8_t> p(good.begin(), good.end() - long(cut));
        Answer ans = Ask(auth, p);
        ASSERT_EQ(ans.rc, 0) << "cut " << cut << ": " << ts_last_error();
        ASSERT_EQ(ans.type, TS_MSG_VALIDATED_IMAGE);
        EXPECT_FALSE(ans.ok);
        EXPECT_EQ(std::memcmp(ans.id.b, id.b, 16), 0);
        EXPECT_NE(ans.reason.find("malformed"), std::string::npos) << ans.reason;
    }
    std::vector<uint8_t> nonzero = good;
    nonzero[30] = 1; // the zero field
    Answer ans = Ask(auth, nonzero);
    ASSERT_EQ(ans.rc, 0);
    EXPECT_FALSE(ans.ok);

    // Too short to hold an id: nothing to answer.
    for (size_t len : {size_t(0), size_t(15)}) {
        std::vector<uint8_t> p(good.begin(), good.begin() + long(len));
        ts_msg *m = nullptr;
        EXPECT_EQ(ts_ask(sys, auth, TS_MSG_VALIDATE_IMAGE, p.data(), p.size(),
                         200ull * 1000 * 1000, &m),
                  -ETIMEDOUT)
            << "an answer to " << len << " bytes";
        ts_msg_free(m);
    }
    EXPECT_TRUE(Logged(TS_LOG_WARNING, "malformed ValidateImage", "no image id")) << LogDump();

    // Never a failure: no restart, no Poison, and it still approves.
    ans = Ask(auth, good);
    ASSERT_EQ(ans.rc, 0);
    EXPECT_TRUE(ans.ok) << ans.reason;
    ts_system_stats st{};
    ASSERT_EQ(ts_system_stats_get(sys, &st), 0);
    EXPECT_EQ(st.restarts, 0u);
    EXPECT_EQ(st.poisoned, 0u);
}

TEST_F(Authority, ABadArgumentFailsItsInit)
{
    Pair a = NewPair("a");
    std::vector<uint8_t> pk = a.pk;
    std::vector<uint8_t> odd = pk;
    odd.push_back(0);
    std::vector<uint8_t> many;
    for (int i = 0; i < AUTHORITY_MAX_KEYS + 1; i++)
        many.insert(many.end(), pk.begin(), pk.end());
    std::vector<uint8_t> most(many.begin(), many.end() - TS_SIGN_PUBLIC_BYTES);
    std::vector<uint8_t> none;
    std::vector<uint8_t> short_key(pk.begin(), pk.end() - 1);
    ts_image_id id = IdOf(kImage);
    std::vector<uint8_t> req = Payload(id, kImage, SignWith(a, kImage));

    for (const auto *arg : {&none, &odd, &many, &short_key}) {
        SCOPED_TRACE(arg->size());
        ts_addr auth = Start(*arg);
        ASSERT_NE(auth, TS_ADDR_NONE);
        Answer ans = Ask(auth, req);
        ASSERT_EQ(ans.rc, 0) << ts_last_error();
        ASSERT_EQ(ans.type, TS_MSG_POISON) << "its init did not fail";
        EXPECT_EQ(ans.poison_reason, -EINVAL);
    }
    EXPECT_TRUE(Logged(TS_LOG_ERROR, "not started", "no public key given")) << LogDump();
    EXPECT_TRUE(Logged(TS_LOG_ERROR, "not started", "not a whole number")) << LogDump();
    EXPECT_TRUE(Logged(TS_LOG_ERROR, "not started", "more than 64")) << LogDump();

    // 64 keys are fine.
    ts_addr auth = Start(most);
    Answer ans = Ask(auth, req);
    ASSERT_EQ(ans.rc, 0);
    ASSERT_EQ(ans.type, TS_MSG_VALIDATED_IMAGE);
    EXPECT_TRUE(ans.ok) << ans.reason;
}

// ---- authority_start: the node's authority from key files ----------------

// The test image's bytes with tag after them: another image (an id of its
// own) to each test, as images stay loaded in the process once loaded.
std::vector<uint8_t> ReadImage(const std::string &path, const std::string &tag)
{
    std::ifstream f(path, std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
    if (!bytes.empty())
        bytes.insert(bytes.end(), tag.begin(), tag.end());
    return bytes;
}

TEST_F(Authority, StartRefusesKeyFilesThatAreNotThere)
{
    Pair a = NewPair("a");
    std::string missing = dir + "/missing.pub";
    EXPECT_EQ(authority_start(sys, (a.pub + "," + missing).c_str()), -ENOENT);
    EXPECT_NE(std::strstr(ts_last_error(), missing.c_str()), nullptr) << ts_last_error();

    std::string bad = Path("bad.pub");
    {
        std::ofstream f(bad);
        f << "not a key\n";
    }
    EXPECT_EQ(authority_start(sys, bad.c_str()), -EINVAL);
    EXPECT_NE(std::strstr(ts_last_error(), bad.c_str()), nullptr) << ts_last_error();
    // A secret key file is no public key file.
    EXPECT_EQ(authority_start(sys, a.secret.c_str()), -EINVAL);

    for (const std::string &list : {std::string(), std::string(","), a.pub + ",", "," + a.pub,
                                    a.pub + ",," + a.pub}) {
        SCOPED_TRACE(list);
        EXPECT_EQ(authority_start(sys, list.c_str()), -EINVAL);
    }
    std::string many = a.pub;
    for (int i = 0; i < AUTHORITY_MAX_KEYS; i++)
        many += "," + a.pub;
    EXPECT_EQ(authority_start(sys, many.c_str()), -EINVAL);
    EXPECT_NE(std::strstr(ts_last_error(), "more than 64"), nullptr) << ts_last_error();
    EXPECT_EQ(authority_start(nullptr, a.pub.c_str()), -EINVAL);
    EXPECT_EQ(authority_start(sys, nullptr), -EINVAL);
}

// With the authority in place, ts_load_image asks it: an image one of its
// keys signed loads, an unsigned one or one signed by another key does not.
TEST_F(Authority, StartMakesItTheNodesAuthority)
{
    const char *path = std::getenv("THESPIS_SIGN_IMAGE");
    ASSERT_NE(path, nullptr) << "THESPIS_SIGN_IMAGE is not set (tests/unit/meson.build)";
    std::vector<uint8_t> image = ReadImage(path, "start");
    ASSERT_FALSE(image.empty()) << path;

    Pair a = NewPair("a"), b = NewPair("b"), c = NewPair("c");
    ASSERT_EQ(authority_start(sys, (a.pub + "," + b.pub).c_str()), 0) << ts_last_error();

    ts_image_id id{};
    EXPECT_EQ(ts_load_image(sys, image.data(), image.size(), nullptr, 0, &id), -EPERM);
    EXPECT_NE(std::strstr(ts_last_error(), ": unsigned"), nullptr) << ts_last_error();
    std::vector<uint8_t> sig = SignWith(c, image);
    EXPECT_EQ(ts_load_image(sys, image.data(), image.size(), sig.data(), sig.size(), &id), -EPERM);
    EXPECT_NE(std::strstr(ts_last_error(), "does not verify with any of the 2 keys"), nullptr)
        << ts_last_error();

    sig = SignWith(b, image);
    ASSERT_EQ(ts_load_image(sys, image.data(), image.size(), sig.data(), sig.size(), &id), 0)
        << ts_last_error();
    ts_image_id want = IdOf(image);
    EXPECT_EQ(std::memcmp(id.b, want.b, 16), 0);
    EXPECT_TRUE(Logged(TS_LOG_INFO, "image " + Text(want) + " approved", "key 2 of 2"))
        << LogDump();
}

// ts_config.authority_keys: ts_system_open starts the authority itself.
TEST(AuthorityConfig, OpenStartsTheAuthorityFromItsKeyFiles)
{
    char tmpl[] = "/tmp/ts-authority-cfg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl, sk = dir + "/a.key", pk = dir + "/a.pub";
    ASSERT_EQ(ts_sign_keygen(sk.c_str(), pk.c_str()), 0) << ts_last_error();

    ts_config cfg;
    ts_config_init(&cfg);
    cfg.base = TS_BASE_SIMPLE;
    std::string missing = dir + "/missing.pub";
    cfg.authority_keys = missing.c_str();
    ts_system *sys = nullptr;
    EXPECT_EQ(ts_system_open(&cfg, &sys), -ENOENT);
    EXPECT_NE(std::strstr(ts_last_error(), missing.c_str()), nullptr) << ts_last_error();
    ts_system_close(sys);
    sys = nullptr;

    const char *path = std::getenv("THESPIS_SIGN_IMAGE");
    ASSERT_NE(path, nullptr);
    std::vector<uint8_t> image = ReadImage(path, "config");
    ASSERT_FALSE(image.empty()) << path;
    cfg.authority_keys = pk.c_str();
    ASSERT_EQ(ts_system_open(&cfg, &sys), 0) << ts_last_error();
    ts_image_id id{};
    EXPECT_EQ(ts_load_image(sys, image.data(), image.size(), nullptr, 0, &id), -EPERM);
    EXPECT_NE(std::strstr(ts_last_error(), ": unsigned"), nullptr) << ts_last_error();
    std::vector<uint8_t> sig(TS_SIGN_BYTES);
    ASSERT_EQ(ts_sign_bytes(sk.c_str(), image.data(), image.size(), sig.data()), 0);
    EXPECT_EQ(ts_load_image(sys, image.data(), image.size(), sig.data(), sig.size(), &id), 0)
        << ts_last_error();
    ts_system_close(sys);
    unlink(sk.c_str());
    unlink(pk.c_str());
    rmdir(tmpl);
}

} // namespace
