// SPDX-License-Identifier: MIT
//
// sign_test.cc — image signing keys and signatures (thespis/image.h,
// engine/sign.c): key files written once with the right modes, signatures
// that verify with their key only, and key files that are not keys refused.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/image.h>

namespace {

class Sign : public ::testing::Test {
protected:
    std::string dir;

    void SetUp() override
    {
        char tmpl[] = "/tmp/ts-sign-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override
    {
        for (const auto &p : made)
            unlink(p.c_str());
        rmdir(dir.c_str());
    }
    std::string Path(const std::string &name)
    {
        std::string p = dir + "/" + name;
        made.push_back(p);
        return p;
    }
    std::string Write(const std::string &name, const std::string &text, mode_t mode = 0600)
    {
        std::string p = Path(name);
        unlink(p.c_str());
        int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        EXPECT_GE(fd, 0);
        EXPECT_EQ(write(fd, text.data(), text.size()), ssize_t(text.size()));
        close(fd);
        chmod(p.c_str(), mode);
        return p;
    }
    static std::string Read(const std::string &p)
    {
        std::string s(400, '\0');
        int fd = open(p.c_str(), O_RDONLY);
        EXPECT_GE(fd, 0);
        ssize_t n = read(fd, &s[0], s.size());
        close(fd);
        s.resize(n > 0 ? size_t(n) : 0);
        return s;
    }
    // A fresh key pair: its files' paths.
    void Pair(const std::string &name, std::string *sk, std::string *pk)
    {
        *sk = Path(name + ".key");
        *pk = Path(name + ".pub");
        ASSERT_EQ(ts_sign_keygen(sk->c_str(), pk->c_str()), 0) << ts_last_error();
    }

private:
    std::vector<std::string> made;
};

mode_t ModeOf(const std::string &p)
{
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

bool Exists(const std::string &p) { return access(p.c_str(), F_OK) == 0; }

const std::string kData = "\x7f" "ELF pretend this is a shared object, with a NUL \0 inside";

TEST_F(Sign, KeygenWritesASecretAndAPublicKeyWithTheirModes)
{
    mode_t old = umask(077); // the modes are exact whatever the umask
    std::string sk, pk;
    Pair("a", &sk, &pk);
    umask(old);
    EXPECT_EQ(ModeOf(sk), 0600u);
    EXPECT_EQ(ModeOf(pk), 0644u);
    std::string s = Read(sk), p = Read(pk);
    ASSERT_EQ(s.size(), 129u) << s;
    EXPECT_EQ(s.back(), '\n');
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), 128u) << s;
    ASSERT_EQ(p.size(), 65u) << p;
    EXPECT_EQ(p.back(), '\n');
    EXPECT_EQ(p.find_first_not_of("0123456789abcdef"), 64u) << p;
    // An ed25519 secret key holds its public key as its second half.
    EXPECT_EQ(s.substr(64, 64), p.substr(0, 64));

    uint8_t key[TS_SIGN_PUBLIC_BYTES];
    ASSERT_EQ(ts_sign_public_load(pk.c_str(), key), 0) << ts_last_error();

    std::string sk2, pk2;
    Pair("b", &sk2, &pk2);
    EXPECT_NE(Read(pk2), p) << "two key pairs are the same";
}

TEST_F(Sign, KeygenNeverOverwritesEitherFile)
{
    std::string sk, pk;
    Pair("a", &sk, &pk);
    const std::string s = Read(sk), p = Read(pk);

    EXPECT_EQ(ts_sign_keygen(sk.c_str(), Path("new.pub").c_str()), -EEXIST);
    EXPECT_NE(std::strstr(ts_last_error(), "not overwritten"), nullptr) << ts_last_error();
    EXPECT_FALSE(Exists(dir + "/new.pub"));

    // The public key is there: no secret key is left behind either.
    EXPECT_EQ(ts_sign_keygen(Path("new.key").c_str(), pk.c_str()), -EEXIST);
    EXPECT_NE(std::strstr(ts_last_error(), pk.c_str()), nullptr) << ts_last_error();
    EXPECT_FALSE(Exists(dir + "/new.key"));

    EXPECT_EQ(Read(sk), s);
    EXPECT_EQ(Read(pk), p);

    EXPECT_EQ(ts_sign_keygen(Path("x.key").c_str(), (dir + "/no/such/dir.pub").c_str()),
              -ENOENT);
    EXPECT_FALSE(Exists(dir + "/x.key")) << "a secret key without its public key was left";
    EXPECT_EQ(ts_sign_keygen(nullptr, pk.c_str()), -EINVAL);
    EXPECT_EQ(ts_sign_keygen(Path("y.key").c_str(), ""), -EINVAL);
    std::string same = Path("same");
    EXPECT_EQ(ts_sign_keygen(same.c_str(), same.c_str()), -EINVAL);
    EXPECT_FALSE(Exists(same));
}

TEST_F(Sign, ASignatureVerifiesWithItsKeyOnly)
{
    std::string sk, pk, sk2, pk2;
    Pair("a", &sk, &pk);
    Pair("b", &sk2, &pk2);
    uint8_t key[TS_SIGN_PUBLIC_BYTES], other[TS_SIGN_PUBLIC_BYTES];
    ASSERT_EQ(ts_sign_public_load(pk.c_str(), key), 0) << ts_last_error();
    ASSERT_EQ(ts_sign_public_load(pk2.c_str(), other), 0) << ts_last_error();

    uint8_t sig[TS_SIGN_BYTES];
    ASSERT_EQ(ts_sign_bytes(sk.c_str(), kData.data(), kData.size(), sig), 0) << ts_last_error();
    EXPECT_TRUE(ts_sign_verify(key, kData.data(), kData.size(), sig, sizeof sig));
    // ed25519 is deterministic: the same bytes, the same signature.
    uint8_t again[TS_SIGN_BYTES];
    ASSERT_EQ(ts_sign_bytes(sk.c_str(), kData.data(), kData.size(), again), 0);
    EXPECT_EQ(std::memcmp(sig, again, sizeof sig), 0);

    EXPECT_FALSE(ts_sign_verify(other, kData.data(), kData.size(), sig, sizeof sig))
        << "another key pair's public key verifies it";

    for (size_t i = 0; i < kData.size(); i += 7) {
        std::string flipped = kData;
        flipped[i] = char(flipped[i] ^ 0x01);
        EXPECT_FALSE(ts_sign_verify(key, flipped.data(), flipped.size(), sig, sizeof sig))
            << "byte " << i << " of the data flipped";
    }
    for (size_t i = 0; i < sizeof sig; i++) {
        uint8_t bad[TS_SIGN_BYTES];
        std::memcpy(bad, sig, sizeof bad);
        bad[i] ^= 0x80;
        EXPECT_FALSE(ts_sign_verify(key, kData.data(), kData.size(), bad, sizeof bad))
            << "byte " << i << " of the signature flipped";
    }
    EXPECT_FALSE(ts_sign_verify(key, kData.data(), kData.size() - 1, sig, sizeof sig));
    EXPECT_FALSE(ts_sign_verify(key, kData.data(), kData.size(), sig, sizeof sig - 1));
    std::vector<uint8_t> longer(sig, sig + sizeof sig);
    longer.push_back(0);
    EXPECT_FALSE(ts_sign_verify(key, kData.data(), kData.size(), longer.data(), longer.size()));
    EXPECT_FALSE(ts_sign_verify(key, kData.data(), kData.size(), nullptr, 0));
    EXPECT_FALSE(ts_sign_verify(nullptr, kData.data(), kData.size(), sig, sizeof sig));

    // Empty data signs and verifies too.
    ASSERT_EQ(ts_sign_bytes(sk.c_str(), "", 0, sig), 0) << ts_last_error();
    EXPECT_TRUE(ts_sign_verify(key, "", 0, sig, sizeof sig));
    EXPECT_FALSE(ts_sign_verify(key, "x", 1, sig, sizeof sig));
}

TEST_F(Sign, ASecretKeyOthersMayReadIsRefused)
{
    std::string sk, pk;
    Pair("a", &sk, &pk);
    uint8_t sig[TS_SIGN_BYTES];
    for (mode_t mode : {0644, 0640, 0604, 0660, 0666, 0620, 0602}) {
        ASSERT_EQ(chmod(sk.c_str(), mode), 0);
        EXPECT_EQ(ts_sign_bytes(sk.c_str(), "x", 1, sig), -EINVAL) << std::oct << mode;
        EXPECT_NE(std::strstr(ts_last_error(), ("chmod 600 " + sk).c_str()), nullptr)
            << ts_last_error();
    }
    ASSERT_EQ(chmod(sk.c_str(), 0400), 0);
    EXPECT_EQ(ts_sign_bytes(sk.c_str(), "x", 1, sig), 0) << ts_last_error();
    // A public key may be read by anyone.
    uint8_t key[TS_SIGN_PUBLIC_BYTES];
    ASSERT_EQ(chmod(pk.c_str(), 0666), 0);
    EXPECT_EQ(ts_sign_public_load(pk.c_str(), key), 0) << ts_last_error();
}

TEST_F(Sign, MalformedKeyFilesAreRefused)
{
    std::string sk, pk;
    Pair("a", &sk, &pk);
    const std::string s = Read(sk).substr(0, 128), p = Read(pk).substr(0, 64);
    uint8_t key[TS_SIGN_PUBLIC_BYTES], sig[TS_SIGN_BYTES];

    // Good without the newline, and in upper case.
    EXPECT_EQ(ts_sign_public_load(Write("p", p, 0644).c_str(), key), 0) << ts_last_error();
    std::string upper = p;
    for (char &c : upper)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(ts_sign_public_load(Write("p", upper, 0644).c_str(), key), 0) << ts_last_error();
    EXPECT_EQ(ts_sign_bytes(Write("s", s).c_str(), "x", 1, sig), 0) << ts_last_error();

    std::string bad_char = p;
    bad_char[9] = 'g';
    for (const std::string &text :
         {std::string(), p.substr(0, 63), p.substr(0, 62) + "\n", p + "0", p + "\n\n", " " + p,
          p + " ", bad_char, "0x" + p.substr(2), p + "\r\n", s}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(ts_sign_public_load(Write("p", text, 0644).c_str(), key), -EINVAL);
    }
    EXPECT_EQ(ts_sign_public_load(Write("p", bad_char, 0644).c_str(), key), -EINVAL);
    EXPECT_NE(std::strstr(ts_last_error(), "character 10 is not a hex digit"), nullptr)
        << ts_last_error();
    EXPECT_EQ(ts_sign_public_load(Write("p", p.substr(0, 40), 0644).c_str(), key), -EINVAL);
    EXPECT_NE(std::strstr(ts_last_error(), "too short"), nullptr) << ts_last_error();

    std::string s_bad = s;
    s_bad[100] = 'z';
    for (const std::string &text : {std::string(), s.substr(0, 127), p, p + "\n", s + "00", s_bad}) {
        SCOPED_TRACE(text);
        EXPECT_EQ(ts_sign_bytes(Write("s", text).c_str(), "x", 1, sig), -EINVAL);
    }
    // 128 hex digits whose halves are not a key pair: not a secret key.
    std::string mixed = s.substr(0, 64) + Read(pk).substr(0, 64);
    mixed[70] = mixed[70] == '0' ? '1' : '0';
    EXPECT_EQ(ts_sign_bytes(Write("s", mixed).c_str(), "x", 1, sig), -EINVAL);
    EXPECT_NE(std::strstr(ts_last_error(), "not an ed25519 secret key"), nullptr)
        << ts_last_error();

    EXPECT_EQ(ts_sign_public_load((dir + "/missing.pub").c_str(), key), -ENOENT);
    EXPECT_NE(std::strstr(ts_last_error(), "missing.pub"), nullptr) << ts_last_error();
    EXPECT_EQ(ts_sign_bytes((dir + "/missing.key").c_str(), "x", 1, sig), -ENOENT);
    EXPECT_EQ(ts_sign_public_load(dir.c_str(), key), -EINVAL);
    EXPECT_EQ(ts_sign_public_load(nullptr, key), -EINVAL);
    EXPECT_EQ(ts_sign_public_load(pk.c_str(), nullptr), -EINVAL);
    EXPECT_EQ(ts_sign_bytes(sk.c_str(), nullptr, 1, sig), -EINVAL);
    EXPECT_EQ(ts_sign_bytes(sk.c_str(), "x", 1, nullptr), -EINVAL);
}

} // namespace
