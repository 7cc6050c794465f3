// SPDX-License-Identifier: MIT
//
// sign_test.cc — signing code images with the thespis command: `keygen
// --sign SECRET PUBLIC`, `sign --key SECRET IMAGE [--out SIG]`, and the
// options of `start` that give a node its authority (--authority-key,
// --allow-unsigned), checked through the option parser itself.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thespis/image.h>

extern "C" {
#include "cli.h"
}

#include "run.h"

namespace {

using cli::Show;

using cli::Lines;
using cli::Result;
using cli::Thespis;

std::string ReadFile(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string &path, const std::string &text)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
}

bool Exists(const std::string &p) { return access(p.c_str(), F_OK) == 0; }

mode_t ModeOf(const std::string &p)
{
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

std::vector<uint8_t> Unhex(const std::string &hex)
{
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// A temporary directory, removed with what the test made in it.
class CliSign : public ::testing::Test {
protected:
    std::string dir;
    void SetUp() override
    {
        char tmpl[] = "/tmp/clitest-sign-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override
    {
        for (const char *f : {"s.key", "s.pub", "t.key", "t.pub", "image.so", "image.so.sig",
                              "other.sig", "x.key", "x.pub"})
            unlink((dir + "/" + f).c_str());
        rmdir(dir.c_str());
    }
    std::string P(const char *name) { return dir + "/" + name; }
};

TEST_F(CliSign, KeygenSignWritesAKeyPairOnce)
{
    Result r = Thespis({"keygen", "--sign", P("s.key"), P("s.pub")});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.err, "");
    EXPECT_NE(r.out.find(P("s.key")), std::string::npos) << Show(r);
    EXPECT_NE(r.out.find(P("s.pub")), std::string::npos) << Show(r);
    EXPECT_EQ(ModeOf(P("s.key")), 0600u);
    EXPECT_EQ(ModeOf(P("s.pub")), 0644u);
    const std::string sk = ReadFile(P("s.key")), pk = ReadFile(P("s.pub"));
    ASSERT_EQ(sk.size(), 129u) << sk;
    EXPECT_EQ(sk.find_first_not_of("0123456789abcdef"), 128u);
    ASSERT_EQ(pk.size(), 65u) << pk;
    EXPECT_EQ(pk.find_first_not_of("0123456789abcdef"), 64u);

    // The options go anywhere on the line.
    r = Thespis({"keygen", P("t.key"), P("t.pub"), "--sign"});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_NE(ReadFile(P("t.pub")), pk);

    for (const auto &args : std::vector<std::vector<std::string>>{
             {"keygen", "--sign", P("s.key"), P("x.pub")},
             {"keygen", "--sign", P("x.key"), P("s.pub")}}) {
        Result again = Thespis(args);
        EXPECT_EQ(again.status, 1) << Show(again);
        EXPECT_EQ(again.out, "");
        EXPECT_EQ(again.err.rfind("thespis: keygen: ", 0), 0u) << Show(again);
        EXPECT_NE(again.err.find("not overwritten"), std::string::npos) << Show(again);
    }
    EXPECT_FALSE(Exists(P("x.pub")));
    EXPECT_FALSE(Exists(P("x.key")));
    EXPECT_EQ(ReadFile(P("s.key")), sk);
    EXPECT_EQ(ReadFile(P("s.pub")), pk);
}

TEST_F(CliSign, SignWritesAHexSignatureThatVerifies)
{
    ASSERT_EQ(Thespis({"keygen", "--sign", P("s.key"), P("s.pub")}).status, 0);
    const std::string image = std::string("\x7f" "ELF", 4) + std::string(1000, '\0') + "tail";
    WriteFile(P("image.so"), image);

    Result r = Thespis({"sign", "--key", P("s.key"), P("image.so")});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(r.err, "");
    ts_image_id id;
    ts_image_id_of(image.data(), image.size(), &id);
    char idtext[TS_IMAGE_ID_TEXT];
    ts_image_id_format(&id, idtext, sizeof idtext);
    EXPECT_EQ(r.out, "signed " + P("image.so") + " (1008 bytes, image id " + idtext + ") into " +
                         P("image.so.sig") + "\n");

    const std::string text = ReadFile(P("image.so.sig"));
    ASSERT_EQ(text.size(), 129u) << text;
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 128u) << text;
    std::vector<uint8_t> sig = Unhex(text.substr(0, 128));
    uint8_t pk[TS_SIGN_PUBLIC_BYTES];
    ASSERT_EQ(ts_sign_public_load(P("s.pub").c_str(), pk), 0) << ts_last_error();
    EXPECT_TRUE(ts_sign_verify(pk, image.data(), image.size(), sig.data(), sig.size()));
    std::string changed = image;
    changed[500] = 1;
    EXPECT_FALSE(ts_sign_verify(pk, changed.data(), changed.size(), sig.data(), sig.size()));

    // --out, before or after IMAGE; an existing signature file is replaced.
    WriteFile(P("other.sig"), "old\n");
    r = Thespis({"sign", P("image.so"), "--out", P("other.sig"), "--key", P("s.key")});
    ASSERT_EQ(r.status, 0) << Show(r);
    EXPECT_EQ(ReadFile(P("other.sig")), text) << "ed25519 signs the same bytes the same way";
}

TEST_F(CliSign, SignFailsWithExitOneWhenItCannot)
{
    ASSERT_EQ(Thespis({"keygen", "--sign", P("s.key"), P("s.pub")}).status, 0);
    WriteFile(P("image.so"), "bytes");

    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const Case cases[] = {
        {{"sign", "--key", P("s.key"), P("missing.so")}, "missing.so"},
        {{"sign", "--key", P("missing.key"), P("image.so")}, "missing.key"},
        {{"sign", "--key", P("s.pub"), P("image.so")}, "chmod 600"}, // a public key
        {{"sign", "--key", P("s.key"), dir}, "not a regular file"},
        {{"sign", "--key", P("s.key"), P("image.so"), "--out", dir + "/no/such/dir.sig"},
         "no/such/dir.sig"},
    };
    for (const auto &c : cases) {
        Result r = Thespis(c.args);
        EXPECT_EQ(r.status, 1) << Show(r);
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(r.err.rfind("thespis: sign: ", 0), 0u) << Show(r);
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.says << "\n" << Show(r);
        EXPECT_EQ(Lines(r.err).size(), 1u) << Show(r);
    }
    // A public key, even one only its owner may read, is no secret key.
    ASSERT_EQ(chmod(P("s.pub").c_str(), 0600), 0);
    Result pub = Thespis({"sign", "--key", P("s.pub"), P("image.so")});
    EXPECT_EQ(pub.status, 1) << Show(pub);
    EXPECT_NE(pub.err.find("too short"), std::string::npos) << Show(pub);

    // A secret key others may read is refused, saying how to fix it.
    ASSERT_EQ(chmod(P("s.key").c_str(), 0644), 0);
    Result r = Thespis({"sign", "--key", P("s.key"), P("image.so")});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("chmod 600 " + P("s.key")), std::string::npos) << Show(r);
    EXPECT_FALSE(Exists(P("image.so.sig")));

    WriteFile(P("image.so"), "");
    ASSERT_EQ(chmod(P("s.key").c_str(), 0600), 0);
    r = Thespis({"sign", "--key", P("s.key"), P("image.so")});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_NE(r.err.find("is empty"), std::string::npos) << Show(r);
}

// Usage errors: exit 2, the problem on one line, then the --help hint.
TEST(CliSignUsage, ExitsTwoWithOneLineNamingTheProblem)
{
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const Case cases[] = {
        {{"keygen", "--sign"}, "--sign needs two files: SECRET and PUBLIC (0 given)"},
        {{"keygen", "--sign", "a"}, "--sign needs two files"},
        {{"keygen", "--sign", "a", "b", "c"}, "(3 given)"},
        {{"keygen", "--sign", "", "b"}, "empty SECRET"},
        {{"keygen", "--sign", "a", ""}, "empty PUBLIC"},
        {{"keygen", "--sign", "same", "same"}, "SECRET and PUBLIC are the same file 'same'"},
        {{"keygen", "--sign=yes", "a", "b"}, "option '--sign' takes no value"},
        {{"sign", "image.so"}, "say the secret key: --key SECRET"},
        {{"sign", "--key", "k"}, "say the IMAGE to sign"},
        {{"sign", "--key", "k", "a.so", "b.so"}, "one IMAGE only"},
        {{"sign", "--key", "k", ""}, "empty IMAGE"},
        {{"sign", "--key", "", "a.so"}, "empty --key path"},
        {{"sign", "--key", "k", "--out", "", "a.so"}, "empty --out path"},
        {{"sign", "--key", "k", "--out", "a.so", "a.so"}, "--out 'a.so' would overwrite the IMAGE"},
        {{"sign", "--key", "k", "--out", "k", "a.so"}, "would overwrite the secret key"},
        {{"sign", "--key"}, "option '--key' needs a value"},
        {{"sign", "--name", "x", "--key", "k", "a.so"}, "unknown option '--name'"},
        {{"start", "--authority-key", ""}, "empty --authority-key path"},
        {{"start", "--authority-key", "a.pub,b.pub"}, "bad --authority-key 'a.pub,b.pub'"},
        {{"start", "--authority-key", "a.pub", "--allow-unsigned"},
         "--allow-unsigned and --authority-key do not go together"},
        {{"start", "--allow-unsigned=yes"}, "option '--allow-unsigned' takes no value"},
    };
    for (const auto &c : cases) {
        Result r = Thespis(c.args);
        const std::string &sub = c.args[0];
        ASSERT_EQ(r.status, 2) << Show(r);
        EXPECT_EQ(r.out, "");
        auto lines = Lines(r.err);
        ASSERT_EQ(lines.size(), 2u) << Show(r);
        EXPECT_EQ(lines[0].rfind("thespis: " + sub + ": ", 0), 0u) << Show(r);
        EXPECT_NE(lines[0].find(c.says), std::string::npos)
            << "expected '" << c.says << "'\n" << Show(r);
        EXPECT_EQ(lines[1], "try 'thespis " + sub + " --help'");
    }
}

TEST(CliSignHelp, TheHelpTextsDescribeSigning)
{
    struct Case {
        std::vector<std::string> args;
        std::vector<std::string> says;
    };
    const Case cases[] = {
        {{"--help"}, {"keygen", "sign"}},
        {{"keygen", "--help"}, {"usage: thespis keygen FILE", "thespis keygen --sign SECRET PUBLIC",
                                "0600", "0644", "--sign"}},
        {{"sign", "--help"}, {"usage: thespis sign --key SECRET", "--key", "--out", "IMAGE.sig",
                              "128 hex", "--help", "Exit status"}},
        {{"sign", "-h"}, {"usage: thespis sign"}},
        {{"start", "--help"}, {"--authority-key PUBFILE", "--allow-unsigned"}},
    };
    for (const auto &c : cases) {
        Result r = Thespis(c.args);
        ASSERT_EQ(r.status, 0) << Show(r);
        EXPECT_EQ(r.err, "");
        for (const auto &s : c.says)
            EXPECT_NE(r.out.find(s), std::string::npos) << "no '" << s << "'\n" << Show(r);
    }
}

// `start` with a key file that is not there fails (exit 1) naming it, and
// leaves no node behind.
TEST_F(CliSign, StartWithAMissingAuthorityKeyFails)
{
    const std::string name = "clitest-" + std::to_string(getpid()) + "-authkey";
    Result r = Thespis({"start", "--name", name, "--shards", "1", "--authority-key",
                        P("x.pub")});
    EXPECT_EQ(r.status, 1) << Show(r);
    EXPECT_EQ(r.err.rfind("thespis: start: ", 0), 0u) << Show(r);
    EXPECT_NE(r.err.find(P("x.pub")), std::string::npos) << Show(r);
    r = Thespis({"status", "--name", name});
    EXPECT_EQ(r.status, 1) << "a failed start left a node behind\n" << Show(r);
    if (r.status == 0) {
        Thespis({"stop", "--name", name});
    }
}

// ---- the option parser: what start's options turn into ----------------------

const struct option kStartOptions[] = {
    {"authority-key", required_argument, nullptr, CLI_OPT_AUTHORITY_KEY},
    {"allow-unsigned", no_argument, nullptr, CLI_OPT_ALLOW_UNSIGNED},
    {nullptr, 0, nullptr, 0},
};
const struct cli_cmd kStart = {"start", "usage: thespis start\n", kStartOptions, nullptr, false};

enum cli_parsed Parse(const std::vector<std::string> &args, struct cli_args *a)
{
    static std::vector<std::string> words;
    words = args;
    words.insert(words.begin(), "start");
    std::vector<char *> argv;
    for (auto &w : words)
        argv.push_back(&w[0]);
    argv.push_back(nullptr);
    return cli_parse(&kStart, (int)words.size(), argv.data(), a);
}

TEST(CliSignArgs, AuthorityKeysAreJoinedWithCommas)
{
    struct cli_args a;
    ASSERT_EQ(Parse({}, &a), CLI_PARSED_RUN);
    EXPECT_EQ(a.cfg.authority_keys, nullptr);
    EXPECT_FALSE(a.cfg.allow_unsigned_images);

    ASSERT_EQ(Parse({"--authority-key", "a.pub"}, &a), CLI_PARSED_RUN);
    ASSERT_NE(a.cfg.authority_keys, nullptr);
    EXPECT_STREQ(a.cfg.authority_keys, "a.pub");

    ASSERT_EQ(Parse({"--authority-key", "/k/a.pub", "--authority-key", "b.pub",
                     "--authority-key=c d.pub"},
                    &a),
              CLI_PARSED_RUN);
    ASSERT_NE(a.cfg.authority_keys, nullptr);
    EXPECT_STREQ(a.cfg.authority_keys, "/k/a.pub,b.pub,c d.pub");
    EXPECT_FALSE(a.cfg.allow_unsigned_images);

    ASSERT_EQ(Parse({"--allow-unsigned"}, &a), CLI_PARSED_RUN);
    EXPECT_TRUE(a.cfg.allow_unsigned_images);
    EXPECT_EQ(a.cfg.authority_keys, nullptr);

    std::vector<std::string> many;
    for (int i = 0; i < 64; i++) {
        many.push_back("--authority-key");
        many.push_back("k" + std::to_string(i));
    }
    ASSERT_EQ(Parse(many, &a), CLI_PARSED_RUN);
    many.push_back("--authority-key");
    many.push_back("one-too-many");
    testing::internal::CaptureStderr();
    EXPECT_EQ(Parse(many, &a), CLI_PARSED_ERROR);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("too many --authority-key (at most 64)"), std::string::npos) << err;
}

} // namespace
