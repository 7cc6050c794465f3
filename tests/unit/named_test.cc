// Unit tests: named shared-memory segments, their owners and stale ones.
// Every segment a test makes is named after this process and removed.
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "named.h"

namespace {

std::string Name(const char *what)
{
    return "thespis-test-" + std::to_string(getpid()) + "-" + what;
}

struct Seg {
    shm_segment s{nullptr, 0, -1, 0};
    ~Seg() { shm_segment_destroy(&s); }
};

// Runs fn in a child process that then exits without cleaning up, as a
// killed owner would; returns the child's exit status.
template <class F> int InChild(F fn)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NamedSegment, CreateOpenShareAndUnlink)
{
    std::string n = Name("share");
    Seg a, b;
    ASSERT_EQ(shm_named_create(&a.s, n.c_str(), 10000, nullptr), 0);
    EXPECT_EQ(shm_named_header(&a.s)->size, 10000u);
    EXPECT_EQ(shm_named_header(&a.s)->owner_pid, getpid());
    ASSERT_EQ(shm_named_open(&b.s, n.c_str()), 0);
    static_cast<char *>(shm_named_data(&a.s))[9999] = 'x';
    EXPECT_EQ(static_cast<char *>(shm_named_data(&b.s))[9999], 'x');
    EXPECT_EQ(static_cast<char *>(shm_named_data(&b.s))[0], 0) << "zero-filled";
    EXPECT_EQ(shm_named_unlink(n.c_str()), 0);
    Seg c;
    EXPECT_EQ(shm_named_open(&c.s, n.c_str()), -ENOENT);
}

TEST(NamedSegment, ALiveOwnerKeepsItsName)
{
    std::string n = Name("live");
    Seg a, b;
    ASSERT_EQ(shm_named_create(&a.s, n.c_str(), 4096, nullptr), 0);
    EXPECT_EQ(shm_named_create(&b.s, n.c_str(), 4096, nullptr), -EEXIST);
    EXPECT_EQ(b.s.base, nullptr);
    shm_named_unlink(n.c_str());
}

TEST(NamedSegment, AStaleSegmentIsDetectedAndReclaimed)
{
    std::string n = Name("stale");
    ASSERT_EQ(InChild([&] {
                  shm_segment s;
                  return shm_named_create(&s, n.c_str(), 4096, nullptr) == 0 ? 0 : 1;
              }),
              0);
    Seg a, b;
    EXPECT_EQ(shm_named_open(&a.s, n.c_str()), -ESTALE);
    bool reclaimed = false;
    ASSERT_EQ(shm_named_create(&b.s, n.c_str(), 8192, &reclaimed), 0);
    EXPECT_TRUE(reclaimed);
    EXPECT_EQ(shm_named_header(&b.s)->owner_pid, getpid());
    EXPECT_EQ(shm_named_header(&b.s)->size, 8192u);
    shm_named_unlink(n.c_str());
}

TEST(NamedSegment, ReapRemovesOnlyStaleSegments)
{
    std::string prefix = Name("reap-");
    std::string live = prefix + "live";
    Seg keep;
    ASSERT_EQ(shm_named_create(&keep.s, live.c_str(), 4096, nullptr), 0);
    ASSERT_EQ(InChild([&] {
                  shm_segment s1, s2;
                  return shm_named_create(&s1, (prefix + "a").c_str(), 4096, nullptr) == 0 &&
                                 shm_named_create(&s2, (prefix + "b").c_str(), 4096, nullptr) == 0
                             ? 0
                             : 1;
              }),
              0);
    unsigned removed = 0;
    ASSERT_EQ(shm_named_reap(prefix.c_str(), &removed), 0);
    EXPECT_EQ(removed, 2u);
    Seg again;
    EXPECT_EQ(shm_named_open(&again.s, live.c_str()), 0) << "the live segment stays";
    EXPECT_EQ(shm_named_unlink((prefix + "a").c_str()), -ENOENT);
    shm_named_unlink(live.c_str());
}

TEST(NamedSegment, BadNamesAndForeignFilesAreRefused)
{
    Seg s;
    EXPECT_EQ(shm_named_create(&s.s, "", 4096, nullptr), -EINVAL);
    EXPECT_EQ(shm_named_create(&s.s, "a/b", 4096, nullptr), -EINVAL);
    EXPECT_EQ(shm_named_create(&s.s, "..", 4096, nullptr), -EINVAL);
    EXPECT_EQ(shm_named_create(&s.s, std::string(300, 'n').c_str(), 4096, nullptr), -EINVAL);
    EXPECT_EQ(shm_named_create(&s.s, Name("zero").c_str(), 0, nullptr), -EINVAL);
    EXPECT_EQ(shm_named_unlink("a/b"), -EINVAL);

    std::string n = Name("foreign"), path = "/" + n;
    int fd = shm_open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 8192), 0); // zeros: no magic
    close(fd);
    EXPECT_EQ(shm_named_open(&s.s, n.c_str()), -EBADMSG);
    Seg t;
    EXPECT_EQ(shm_named_create(&t.s, n.c_str(), 4096, nullptr), -EEXIST) << "not ours: left alone";
    shm_unlink(path.c_str());
}

} // namespace
