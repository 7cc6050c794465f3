// SPDX-License-Identifier: MIT
//
// image_load_test.cc — code images by hash (thespis/image.h): ids, the
// Source Authority's approvals and refusals, creation by (image, type),
// unloading, watchers, and every kind of bad image, on the simple and the
// pinned base. The images are shared modules tests/cli/meson.build builds.
//
// Images are the process's: each test loads its own bytes (the module with
// a tag appended, which the loader ignores but the hash does not), so no
// test sees another's images.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/image.h>
#include <thespis/node.h>
#include <thespis/sysmsg.h>
#include <thespis/thespis.h>

#include "run.h"

namespace {

constexpr uint64_t kWait = UINT64_C(10) * 1000 * 1000 * 1000;
using Bytes = std::vector<unsigned char>;

bool Contains(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

Bytes ReadAll(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The module the build made ($var), with tag appended: an image of its own.
Bytes Image(const char *var, const std::string &tag)
{
    std::string path = cli::EnvPath(var);
    EXPECT_FALSE(path.empty()) << var << " is not set";
    Bytes b = ReadAll(path);
    EXPECT_FALSE(b.empty()) << "cannot read " << path;
    b.insert(b.end(), tag.begin(), tag.end());
    return b;
}

std::string IdText(const ts_image_id &id)
{
    char buf[TS_IMAGE_ID_TEXT];
    return ts_image_id_format(&id, buf, sizeof(buf));
}

struct MsgFree {
    void operator()(ts_msg *m) const { ts_msg_free(m); }
};
using Msg = std::unique_ptr<ts_msg, MsgFree>;
struct SystemClose {
    void operator()(ts_system *s) const { ts_system_close(s); }
};
using System = std::unique_ptr<ts_system, SystemClose>;

std::string Text(const ts_msg *m)
{
    return std::string(static_cast<const char *>(ts_msg_data(m)), m->len);
}

// A directory of its own with a signing key pair in it, removed at the end.
class Keys {
  public:
    Keys()
    {
        char tmpl[] = "/tmp/thespis-imgtest-XXXXXX";
        if (!mkdtemp(tmpl))
            return;
        dir_ = tmpl;
        ok_ = ts_sign_keygen(secret().c_str(), pub().c_str()) == 0;
    }
    ~Keys()
    {
        for (const char *f : {"/secret", "/public", "/other.secret", "/other.public",
                              "/image.so", "/image.so.sig"})
            unlink((dir_ + f).c_str());
        rmdir(dir_.c_str());
    }
    Keys(const Keys &) = delete;
    Keys &operator=(const Keys &) = delete;

    bool ok() const { return ok_; }
    std::string secret() const { return dir_ + "/secret"; }
    std::string pub() const { return dir_ + "/public"; }
    std::string path(const char *f) const { return dir_ + "/" + f; }
    Bytes Sign(const Bytes &b, const std::string &key) const
    {
        Bytes sig(TS_SIGN_BYTES);
        EXPECT_EQ(ts_sign_bytes(key.c_str(), b.data(), b.size(), sig.data()), 0)
            << ts_last_error();
        return sig;
    }
    Bytes Sign(const Bytes &b) const { return Sign(b, secret()); }

  private:
    std::string dir_;
    bool ok_ = false;
};

// An authority of the test's own: refuses every image whose size is odd,
// with a reason, and approves the rest.
int OwnAuthorityValidate(ts_ctx *ctx, void *, const ts_msg *m)
{
    ts_validate_image v;
    if (ts_validate_image_decode(m, &v) < 0)
        return 0;
    bool ok = v.len % 2 == 0;
    return ts_reply_validated_image(ctx, &v.id, ok, ok ? nullptr : "odd sizes are not wanted");
}
const ts_handler_entry kOwnAuthorityHandlers[] = {
    TS_ON_ID(TS_MSG_VALIDATE_IMAGE, OwnAuthorityValidate), TS_HANDLERS_END};
const ts_actor_type kOwnAuthority = {"imgtest.OwnAuthority", 0, nullptr, nullptr,
                                     kOwnAuthorityHandlers, nullptr, nullptr, nullptr};

// Watches the node's images: keeps "L<id>" and "U<id>" lines, and answers
// any other message with them.
struct WatcherState {
    char log[1024];
};
int WatcherInit(ts_ctx *ctx, void *, const void *, size_t)
{
    return ts_notify_on_images(ctx, true);
}
int WatcherAny(ts_ctx *ctx, void *state, const ts_msg *m)
{
    auto *w = static_cast<WatcherState *>(state);
    ts_image_event ev;
    if (ts_image_event_decode(m, &ev) == 0) {
        size_t used = strlen(w->log);
        snprintf(w->log + used, sizeof(w->log) - used, "%c%s %u\n",
                 m->type == TS_MSG_IMAGE_LOADED ? 'L' : 'U', IdText(ev.id).c_str(), ev.ntypes);
        return 0;
    }
    if (ts_sysmsg_name(m->type))
        return 0;
    return ts_reply(ctx, m->type, w->log, strlen(w->log));
}
const ts_actor_type kWatcher = {"imgtest.Watcher", sizeof(WatcherState), WatcherInit, nullptr,
                                nullptr, WatcherAny, nullptr, nullptr};

class ImageTest : public ::testing::TestWithParam<ts_base> {
  protected:
    void SetUp() override
    {
        ASSERT_EQ(ts_register_actor_type(&kOwnAuthority), 0) << ts_last_error();
        ASSERT_EQ(ts_register_actor_type(&kWatcher), 0) << ts_last_error();
    }

    // A node of the test's base, with extra settings done by set.
    System Open(void (*set)(ts_config *, const Keys *) = nullptr, const Keys *keys = nullptr)
    {
        ts_config cfg;
        ts_config_init(&cfg);
        cfg.base = GetParam();
        cfg.shards = 2;
        if (set)
            set(&cfg, keys);
        ts_system *raw = nullptr;
        EXPECT_EQ(ts_system_open(&cfg, &raw), 0) << ts_last_error();
        return System(raw);
    }
    static void Unsigned(ts_config *cfg, const Keys *) { cfg->allow_unsigned_images = true; }
    static void Signed(ts_config *cfg, const Keys *k)
    {
        static std::string keys;
        keys = k->pub();
        cfg->authority_keys = keys.c_str();
    }

    // Creates type of image id and asks it one message; the reply's text.
    static std::string AskNew(ts_system *sys, const ts_image_id &id, const char *type,
                              const std::string &what, ts_addr *made = nullptr)
    {
        ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
        ts_addr a = TS_ADDR_NONE;
        int rc = ts_system_create(sys, type, &o, &a);
        if (rc < 0)
            return std::string("create: ") + ts_last_error();
        if (made)
            *made = a;
        return Ask(sys, a, what);
    }
    static std::string Ask(ts_system *sys, ts_addr a, const std::string &what)
    {
        ts_msg *r = nullptr;
        int rc = ts_ask(sys, a, ts_type_id("imgtest.Say"), what.data(), what.size(), kWait, &r);
        if (rc < 0)
            return std::string("ask: ") + ts_last_error();
        Msg owned(r);
        return Text(r);
    }
};

// ---- ids --------------------------------------------------------------

TEST(ImageId, SameBytesSameIdOneByteChangedAnother)
{
    Bytes a = Image("THESPIS_IMAGE_GREETER", "id");
    Bytes b = a;
    b[b.size() / 2] ^= 1;
    ts_image_id ia, ia2, ib;
    ts_image_id_of(a.data(), a.size(), &ia);
    ts_image_id_of(a.data(), a.size(), &ia2);
    ts_image_id_of(b.data(), b.size(), &ib);
    EXPECT_EQ(memcmp(&ia, &ia2, sizeof(ia)), 0);
    EXPECT_NE(memcmp(&ia, &ib, sizeof(ia)), 0);
    EXPECT_FALSE(ts_image_id_is_zero(&ia));

    std::string text = IdText(ia);
    EXPECT_EQ(text.size(), 32u);
    ts_image_id back;
    ASSERT_EQ(ts_image_id_parse(text.c_str(), &back), 0);
    EXPECT_EQ(memcmp(&ia, &back, sizeof(ia)), 0);
    EXPECT_EQ(ts_image_id_parse("abc", &back), -EINVAL);
    EXPECT_EQ(ts_image_id_parse((text + "0").c_str(), &back), -EINVAL);
    EXPECT_EQ(ts_image_id_parse(("g" + text.substr(1)).c_str(), &back), -EINVAL);
}

// ---- the authority ----------------------------------------------------

TEST_P(ImageTest, WithNoAuthorityEveryImageIsRefusedUnlessUnsignedAreAllowed)
{
    Bytes img = Image("THESPIS_IMAGE_GREETER", "noauth");
    ts_image_id id;
    {
        System sys = Open();
        ASSERT_TRUE(sys);
        EXPECT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), -EPERM);
        EXPECT_TRUE(Contains(ts_last_error(), "no Source Authority")) << ts_last_error();
        EXPECT_EQ(ts_images(sys.get(), nullptr, 0), 0); // nothing of it loaded
    }
    System sys = Open(Unsigned);
    ASSERT_TRUE(sys);
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0)
        << ts_last_error();
    ts_image_id want;
    ts_image_id_of(img.data(), img.size(), &want);
    EXPECT_EQ(memcmp(&id, &want, sizeof(id)), 0);
    EXPECT_EQ(AskNew(sys.get(), id, "images.Greeter", "world"), "Hello, world!");
}

TEST_P(ImageTest, TheBundledAuthorityApprovesOnlyWhatItsKeysSigned)
{
    Keys keys;
    ASSERT_TRUE(keys.ok()) << ts_last_error();
    ASSERT_EQ(ts_sign_keygen(keys.path("other.secret").c_str(), keys.path("other.public").c_str()),
              0);
    System sys = Open(Signed, &keys);
    ASSERT_TRUE(sys);
    Bytes img = Image("THESPIS_IMAGE_GREETER", "bundled");
    Bytes sig = keys.Sign(img);
    ts_image_id id;

    // Unsigned, signed by another key, one byte changed after signing.
    EXPECT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), -EPERM);
    EXPECT_TRUE(Contains(ts_last_error(), "unsigned")) << ts_last_error();
    Bytes other = keys.Sign(img, keys.path("other.secret"));
    EXPECT_EQ(ts_load_image(sys.get(), img.data(), img.size(), other.data(), other.size(), &id),
              -EPERM);
    EXPECT_TRUE(Contains(ts_last_error(), "does not verify")) << ts_last_error();
    Bytes changed = img;
    changed[changed.size() - 1] ^= 0x20; // in the tag: still a good ELF file
    EXPECT_EQ(ts_load_image(sys.get(), changed.data(), changed.size(), sig.data(), sig.size(), &id),
              -EPERM);
    EXPECT_TRUE(Contains(ts_last_error(), "does not verify")) << ts_last_error();
    EXPECT_EQ(ts_images(sys.get(), nullptr, 0), 0);

    // Signed by its key: loaded, and the same call again is fine.
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), sig.data(), sig.size(), &id), 0)
        << ts_last_error();
    ts_image_id again;
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), sig.data(), sig.size(), &again), 0);
    EXPECT_EQ(memcmp(&id, &again, sizeof(id)), 0);
    EXPECT_EQ(AskNew(sys.get(), id, "images.Counter", "x"), "1");
}

TEST_P(ImageTest, AnAuthorityOfTheProgramsOwnDecidesWithItsReason)
{
    System sys = Open();
    ASSERT_TRUE(sys);
    ts_addr auth = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys.get(), "imgtest.OwnAuthority", nullptr, &auth), 0);
    ASSERT_EQ(ts_system_set_source_authority(sys.get(), auth), 0);

    Bytes img = Image("THESPIS_IMAGE_GREETER", "own");
    if (img.size() % 2 == 0)
        img.push_back('x'); // odd: refused
    ts_image_id id;
    EXPECT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), -EPERM);
    EXPECT_TRUE(Contains(ts_last_error(), "odd sizes are not wanted")) << ts_last_error();
    img.push_back('y'); // even: approved
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0)
        << ts_last_error();
    EXPECT_EQ(AskNew(sys.get(), id, "images.Greeter", "own"), "Hello, own!");

}

// ---- creation, versions, unloading, watchers ----------------------------

TEST_P(ImageTest, TwoVersionsOfATypeLiveSideBySideEachByItsImage)
{
    System sys = Open(Unsigned);
    ASSERT_TRUE(sys);
    Bytes v1 = Image("THESPIS_IMAGE_GREETER", "v1");
    Bytes v2 = Image("THESPIS_IMAGE_GREETER_HOWDY", "v2");
    ts_image_id id1, id2;
    ASSERT_EQ(ts_load_image(sys.get(), v1.data(), v1.size(), nullptr, 0, &id1), 0);
    ASSERT_EQ(ts_load_image(sys.get(), v2.data(), v2.size(), nullptr, 0, &id2), 0);
    EXPECT_EQ(AskNew(sys.get(), id1, "images.Greeter", "a"), "Hello, a!");
    EXPECT_EQ(AskNew(sys.get(), id2, "images.Greeter", "b"), "Howdy, b!");

    // Not the program's types, and not a type the image lacks.
    ts_addr a;
    EXPECT_EQ(ts_system_create(sys.get(), "images.Greeter", nullptr, &a), -ENOENT);
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id1};
    EXPECT_EQ(ts_system_create(sys.get(), "images.Nobody", &o, &a), -ENOENT);
    EXPECT_TRUE(Contains(ts_last_error(), "has no actor type 'images.Nobody'")) << ts_last_error();
    ts_image_id none;
    ASSERT_EQ(ts_image_id_parse("0123456789abcdef0123456789abcdef", &none), 0);
    ts_create_opts n{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &none};
    EXPECT_EQ(ts_system_create(sys.get(), "images.Greeter", &n, &a), -ENOENT);
    EXPECT_TRUE(Contains(ts_last_error(), "not loaded")) << ts_last_error();

    ts_image_info info[4];
    ASSERT_EQ(ts_images(sys.get(), info, 4), 2);
    EXPECT_EQ(info[0].ntypes, 2u);
    EXPECT_STREQ(info[0].types, "images.Greeter,images.Counter");
    EXPECT_EQ(info[0].size, v1.size());
    EXPECT_EQ(info[0].loaded, 1);
}

TEST_P(ImageTest, UnloadStopsNewCreationsAndRunningActorsGoOn)
{
    System sys = Open(Unsigned);
    ASSERT_TRUE(sys);
    ts_addr watcher = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys.get(), "imgtest.Watcher", nullptr, &watcher), 0);
    ASSERT_EQ(Ask(sys.get(), watcher, "?"), ""); // registered before any load

    Bytes img = Image("THESPIS_IMAGE_GREETER", "unload");
    ts_image_id id;
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0);
    ts_addr counter = TS_ADDR_NONE;
    ASSERT_EQ(AskNew(sys.get(), id, "images.Counter", "x", &counter), "1");

    ASSERT_EQ(ts_unload_image(sys.get(), &id), 0) << ts_last_error();
    EXPECT_EQ(ts_unload_image(sys.get(), &id), -ENOENT);
    EXPECT_EQ(Ask(sys.get(), counter, "x"), "2"); // still running its code
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
    ts_addr a;
    EXPECT_EQ(ts_system_create(sys.get(), "images.Counter", &o, &a), -ENOENT);
    EXPECT_TRUE(Contains(ts_last_error(), "unloaded")) << ts_last_error();
    ts_image_info info;
    ASSERT_EQ(ts_images(sys.get(), &info, 1), 1);
    EXPECT_EQ(info.loaded, 0);

    // Loaded again: creations work again.
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0);
    EXPECT_EQ(AskNew(sys.get(), id, "images.Counter", "x"), "1");

    // The watcher saw each event, in order (its messages come from one
    // sender, the loading caller, and so in order).
    std::string hex = IdText(id);
    EXPECT_EQ(Ask(sys.get(), watcher, "?"),
              "L" + hex + " 2\nU" + hex + " 2\nL" + hex + " 2\n");
}

// ---- bad images --------------------------------------------------------

TEST_P(ImageTest, BadImagesAreRefusedEachSayingWhyAndTheNodeGoesOn)
{
    System sys = Open(Unsigned);
    ASSERT_TRUE(sys);
    Bytes good = Image("THESPIS_IMAGE_GREETER", "bad");
    ts_image_id id;
    struct Case {
        const char *what;
        Bytes bytes;
        int rc;
        const char *says;
    };
    Bytes text(300, '#');
    Bytes truncated(good.begin(), good.begin() + static_cast<long>(good.size() / 2));
    Bytes header_only(good.begin(), good.begin() + 40);
    std::vector<Case> cases = {
        {"not ELF", text, -ENOEXEC, "not an ELF file"},
        {"truncated", truncated, -ENOEXEC, "truncated"},
        {"only part of a header", header_only, -ENOEXEC, "truncated"},
        {"no init", Image("THESPIS_IMAGE_NOINIT", "bad"), -ENOEXEC, TS_IMAGE_INIT_SYMBOL},
        {"a type twice", Image("THESPIS_IMAGE_DUP", "bad"), -EEXIST, "dup.Twice"},
    };
    for (const Case &c : cases) {
        EXPECT_EQ(ts_load_image(sys.get(), c.bytes.data(), c.bytes.size(), nullptr, 0, &id), c.rc)
            << c.what;
        EXPECT_TRUE(Contains(ts_last_error(), c.says)) << c.what << ": " << ts_last_error();
    }
    EXPECT_EQ(ts_load_image(sys.get(), nullptr, 10, nullptr, 0, &id), -EINVAL);
    EXPECT_EQ(ts_load_image(sys.get(), good.data(), 0, nullptr, 0, &id), -EINVAL);
    EXPECT_EQ(ts_images(sys.get(), nullptr, 0), 0);

    // The node is unaffected: the good image loads and runs.
    ASSERT_EQ(ts_load_image(sys.get(), good.data(), good.size(), nullptr, 0, &id), 0)
        << ts_last_error();
    EXPECT_EQ(AskNew(sys.get(), id, "images.Greeter", "still here"), "Hello, still here!");
}

// An init that fails after registering a type: the load fails with its
// error (and only its text), the type is forgotten, and the same image
// loads once its init succeeds.
TEST_P(ImageTest, AFailedInitLeavesNothingBehindAndALaterLoadWorks)
{
    System sys = Open(Unsigned);
    ASSERT_TRUE(sys);
    Bytes img = Image("THESPIS_IMAGE_HALF", std::string("half-") + ts_base_name(GetParam()));
    ts_image_id id;
    ASSERT_EQ(setenv("CLITEST_HALF_RC", "-5", 1), 0); // -EIO
    EXPECT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), -EIO);
    EXPECT_TRUE(Contains(ts_last_error(), "Input/output error")) << ts_last_error();
    EXPECT_FALSE(Contains(ts_last_error(), ": no error")) << ts_last_error();
    EXPECT_EQ(ts_images(sys.get(), nullptr, 0), 0);
    ts_image_id_of(img.data(), img.size(), &id);
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
    ts_addr a;
    EXPECT_EQ(ts_system_create(sys.get(), "half.A", &o, &a), -ENOENT);

    ASSERT_EQ(setenv("CLITEST_HALF_RC", "0", 1), 0);
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0)
        << ts_last_error();
    unsetenv("CLITEST_HALF_RC");
    EXPECT_EQ(AskNew(sys.get(), id, "half.A", "?"), "half");
}

TEST_P(ImageTest, AFileLoadsWithTheSignatureBesideIt)
{
    Keys keys;
    ASSERT_TRUE(keys.ok()) << ts_last_error();
    System sys = Open(Signed, &keys);
    ASSERT_TRUE(sys);
    Bytes img = Image("THESPIS_IMAGE_GREETER", "file");
    std::string path = keys.path("image.so");
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char *>(img.data()), static_cast<long>(img.size()));
    }
    ts_image_id id;
    EXPECT_EQ(ts_load_image_file(sys.get(), path.c_str(), &id), -EPERM); // no .sig yet
    Bytes sig = keys.Sign(img);
    {
        std::ofstream out(path + ".sig");
        for (unsigned char c : sig) {
            char hx[3];
            snprintf(hx, sizeof hx, "%02x", c);
            out << hx;
        }
        out << "\n";
    }
    ASSERT_EQ(ts_load_image_file(sys.get(), path.c_str(), &id), 0) << ts_last_error();
    EXPECT_EQ(AskNew(sys.get(), id, "images.Greeter", "file"), "Hello, file!");
    {
        std::ofstream out(path + ".sig");
        out << "not hex\n";
    }
    EXPECT_EQ(ts_load_image_file(sys.get(), path.c_str(), &id), -EINVAL);
    EXPECT_EQ(ts_load_image_file(sys.get(), keys.path("nosuch.so").c_str(), &id), -ENOENT);
}

std::string Say(ts_system *sys, ts_addr a)
{
    ts_msg *r = nullptr;
    if (ts_ask(sys, a, ts_type_id("imgtest.Say"), "?", 1, kWait, &r) < 0)
        return std::string("ask: ") + ts_last_error();
    Msg owned(r);
    return Text(r);
}

// The same bytes preloaded as the program's types and loaded as an image:
// two sets of types, each found its own way. (Once per process: the
// program's types are the process's.)
TEST(ImagePreload, PreloadedAndLoadedBytesAreTwoSetsOfTypes)
{
    Keys dir;
    ASSERT_TRUE(dir.ok());
    Bytes img = Image("THESPIS_IMAGE_HALF", "both");
    std::string path = dir.path("image.so");
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char *>(img.data()), static_cast<long>(img.size()));
    }
    unsetenv("CLITEST_HALF_RC");
    ASSERT_EQ(ts_image_load(path.c_str()), 0) << ts_last_error();
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.allow_unsigned_images = true;
    ts_system *raw = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &raw), 0) << ts_last_error();
    System sys(raw);
    ts_image_id id;
    ASSERT_EQ(ts_load_image(sys.get(), img.data(), img.size(), nullptr, 0, &id), 0)
        << ts_last_error();
    ts_create_opts o{nullptr, 0, nullptr, TS_PLACE_DEFAULT, 0, 0, nullptr, &id};
    ts_addr b = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys.get(), "half.A", &o, &b), 0) << ts_last_error();
    EXPECT_EQ(Say(sys.get(), b), "half");
    ts_addr a = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys.get(), "half.A", nullptr, &a), 0) << ts_last_error();
    EXPECT_EQ(Say(sys.get(), a), "half");
}

INSTANTIATE_TEST_SUITE_P(Bases, ImageTest, ::testing::Values(TS_BASE_SIMPLE, TS_BASE_PINNED),
                         [](const ::testing::TestParamInfo<ts_base> &i) {
                             return std::string(ts_base_name(i.param));
                         });

} // namespace
