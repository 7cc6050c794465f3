// SPDX-License-Identifier: MIT
//
// image_test.cc — ts_image_load: its errors, and an image whose actor type
// a system can then create and talk to. The images are shared modules built
// by tests/cli/meson.build, their paths in the environment.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <dlfcn.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/node.h>
#include <thespis/thespis.h>

#include "run.h"

namespace {

constexpr uint64_t kWait = UINT64_C(10) * 1000 * 1000 * 1000;

bool Contains(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

// The path of an image the build made, or a failed test.
std::string ImagePath(const char *var)
{
    std::string p = cli::EnvPath(var);
    EXPECT_FALSE(p.empty()) << var << " is not set";
    return p;
}

// A temporary file holding some text, removed when the test ends.
class TempFile {
  public:
    explicit TempFile(const std::string &text)
    {
        const char *dir = std::getenv("TMPDIR");
        path_ = std::string(dir && *dir ? dir : "/tmp") + "/thespis-clitest-XXXXXX.so";
        int fd = mkstemps(path_.data(), 3);
        if (fd < 0) {
            path_.clear();
            return;
        }
        ok_ = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        close(fd);
    }
    ~TempFile()
    {
        if (!path_.empty())
            unlink(path_.c_str());
    }
    TempFile(const TempFile &) = delete;
    TempFile &operator=(const TempFile &) = delete;

    bool ok() const { return ok_; }
    const std::string &path() const { return path_; }

  private:
    std::string path_;
    bool ok_ = false;
};

TEST(ImageLoad, NullOrEmptyPathIsInvalid)
{
    EXPECT_EQ(ts_image_load(nullptr), -EINVAL);
    EXPECT_EQ(ts_image_load(""), -EINVAL);
}

TEST(ImageLoad, MissingFileIsENOENT)
{
    EXPECT_EQ(ts_image_load("/nonexistent/dir/image.so"), -ENOENT);
    EXPECT_TRUE(Contains(ts_last_error(), "/nonexistent/dir/image.so")) << ts_last_error();

    // A name without a '/' is a file in the current directory, never a
    // library searched for on the library path.
    EXPECT_EQ(ts_image_load("libc.so.6"), -ENOENT) << ts_last_error();
}

TEST(ImageLoad, NotAnObjectIsENOEXECSayingWhyBeforeTheLoaderSeesIt)
{
    TempFile f(std::string(256, '#') + " not an ELF file\n");
    ASSERT_TRUE(f.ok()) << "cannot write a temporary file";

    // The header checks refuse it before dlopen is given the bytes.
    EXPECT_EQ(ts_image_load(f.path().c_str()), -ENOEXEC);
    EXPECT_TRUE(Contains(ts_last_error(), f.path())) << ts_last_error();
    EXPECT_TRUE(Contains(ts_last_error(), "not an ELF file")) << ts_last_error();
}

TEST(ImageLoad, ImageWithoutInitSymbolIsENOEXEC)
{
    const std::string path = ImagePath("THESPIS_IMAGE_NOINIT");
    ASSERT_FALSE(path.empty());
    EXPECT_EQ(ts_image_load(path.c_str()), -ENOEXEC);
    EXPECT_TRUE(Contains(ts_last_error(), TS_IMAGE_INIT_SYMBOL)) << ts_last_error();
    EXPECT_TRUE(Contains(ts_last_error(), path)) << ts_last_error();
}

// The fail image's init returns $CLITEST_IMAGE_RC: a negative errno comes
// back as it is, a positive value as -ECANCELED, and the init runs again on
// every load.
TEST(ImageLoad, InitFailureIsReturned)
{
    const std::string path = ImagePath("THESPIS_IMAGE_FAIL");
    ASSERT_FALSE(path.empty());

    ASSERT_EQ(setenv("CLITEST_IMAGE_RC", "-1", 1), 0); // -EPERM
    EXPECT_EQ(ts_image_load(path.c_str()), -EPERM);
    EXPECT_TRUE(Contains(ts_last_error(), TS_IMAGE_INIT_SYMBOL)) << ts_last_error();

    ASSERT_EQ(setenv("CLITEST_IMAGE_RC", "7", 1), 0);
    EXPECT_EQ(ts_image_load(path.c_str()), -ECANCELED);
    EXPECT_TRUE(Contains(ts_last_error(), "7")) << ts_last_error();

    ASSERT_EQ(setenv("CLITEST_IMAGE_RC", "0", 1), 0);
    EXPECT_EQ(ts_image_load(path.c_str()), 0) << ts_last_error();
    unsetenv("CLITEST_IMAGE_RC");
}

struct MsgFree {
    void operator()(ts_msg *m) const { ts_msg_free(m); }
};
struct SystemClose {
    void operator()(ts_system *s) const { ts_system_close(s); }
};

// The echo image's type can be created and answers with what it was sent.
// Loading it twice is fine.
TEST(ImageLoad, EchoImageTypeRunsOnSimple)
{
    const std::string path = ImagePath("THESPIS_IMAGE");
    ASSERT_FALSE(path.empty());
    ASSERT_EQ(ts_image_load(path.c_str()), 0) << ts_last_error();
    ASSERT_EQ(ts_image_load(path.c_str()), 0) << ts_last_error();

    ts_config cfg;
    ts_config_init(&cfg); // the simple base
    ts_system *raw = nullptr;
    ASSERT_EQ(ts_system_open(&cfg, &raw), 0) << ts_last_error();
    std::unique_ptr<ts_system, SystemClose> sys(raw);

    ts_addr echo = TS_ADDR_NONE;
    ASSERT_EQ(ts_system_create(sys.get(), "image.Echo", nullptr, &echo), 0) << ts_last_error();

    const std::string payload = "hello, image";
    const uint64_t type = ts_type_id("clitest.Anything");
    ts_msg *reply = nullptr;
    ASSERT_EQ(ts_ask(sys.get(), echo, type, payload.data(), payload.size(), kWait, &reply), 0)
        << ts_last_error();
    std::unique_ptr<ts_msg, MsgFree> owned(reply);
    EXPECT_EQ(reply->type, type);
    EXPECT_EQ(std::string(static_cast<const char *>(ts_msg_data(reply)), reply->len), payload);
    EXPECT_EQ(reply->src, echo);

    EXPECT_EQ(ts_system_shutdown(sys.get()), 0) << ts_last_error();
}

} // namespace
