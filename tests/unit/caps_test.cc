// Unit tests: capabilities and requirements (placement/caps.h), black-box
// from the header: how a value is typed, each malformation refused (with
// *out left empty and ts_last_error naming the bad part), the limits, the
// text form round trip, every requirement operator against every kind of
// capability, and the "why" a requirement is not met.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <thespis/thespis.h>

extern "C" {
#include "caps.h"
}

namespace {

// A caps with every slot scribbled on, so "emptied" is observable.
caps Dirty()
{
    caps c;
    std::memset(&c, 0x5a, sizeof(c));
    c.n = 3;
    return c;
}

reqs DirtyReqs()
{
    reqs r;
    std::memset(&r, 0x5a, sizeof(r));
    r.n = 3;
    return r;
}

caps Parse(const char *text)
{
    caps c = Dirty();
    EXPECT_EQ(0, caps_parse(text, &c)) << "caps_parse(\"" << text << "\"): " << ts_last_error();
    return c;
}

reqs ParseReqs(const char *text)
{
    reqs r = DirtyReqs();
    EXPECT_EQ(0, reqs_parse(text, &r)) << "reqs_parse(\"" << text << "\"): " << ts_last_error();
    return r;
}

std::string Format(const caps &c)
{
    size_t need = caps_format(&c, nullptr, 0);
    std::string s(need + 1, '\xee');
    EXPECT_EQ(need, caps_format(&c, &s[0], s.size()));
    EXPECT_EQ('\0', s[need]);
    s.resize(need);
    return s;
}

// Two caps say the same: same keys in the same order, same types, and the
// same value (i for bools and ints, s for strings; the other field is not
// specified).
::testing::AssertionResult SameCaps(const caps &a, const caps &b)
{
    if (a.n != b.n)
        return ::testing::AssertionFailure() << "n " << a.n << " vs " << b.n;
    for (unsigned k = 0; k < a.n; k++) {
        const cap &x = a.v[k], &y = b.v[k];
        if (std::strcmp(x.key, y.key) != 0 || x.type != y.type ||
            (x.type == CAP_STR ? std::strcmp(x.s, y.s) != 0 : x.i != y.i))
            return ::testing::AssertionFailure() << "cap " << k << ": " << x.key << " vs " << y.key;
    }
    return ::testing::AssertionSuccess();
}

std::string Keys(int first, int count)
{
    std::string s;
    for (int k = first; k < first + count; k++)
        s += (s.empty() ? "" : ",") + std::string("k") + std::to_string(k) + "=" + std::to_string(k);
    return s;
}

std::string Terms(int count)
{
    std::string s;
    for (int k = 0; k < count; k++)
        s += (s.empty() ? "" : ",") + std::string("k") + std::to_string(k) + ">=" + std::to_string(k);
    return s;
}

// ---------------------------------------------------------------------------
// caps_parse: typing

// A value is a bool exactly when it is "true" or "false".
TEST(CapsParse, BoolValues)
{
    caps c = Parse("gpu=true,tpu=false");
    ASSERT_EQ(2u, c.n);
    EXPECT_STREQ("gpu", c.v[0].key);
    EXPECT_EQ(CAP_BOOL, c.v[0].type);
    EXPECT_EQ(1, c.v[0].i);
    EXPECT_STREQ("tpu", c.v[1].key);
    EXPECT_EQ(CAP_BOOL, c.v[1].type);
    EXPECT_EQ(0, c.v[1].i);
}

// Only the lower-case words are bools; "True", "yes", "1" are not.
TEST(CapsParse, BoolIsExactWord)
{
    caps c = Parse("a=True,b=FALSE,c=yes,d=truex");
    ASSERT_EQ(4u, c.n);
    for (unsigned k = 0; k < 4; k++)
        EXPECT_EQ(CAP_STR, c.v[k].type) << c.v[k].key;
    EXPECT_STREQ("True", c.v[0].s);
    EXPECT_STREQ("truex", c.v[3].s);
}

// An optional sign then decimal digits, within int64, is an int.
TEST(CapsParse, IntValues)
{
    caps c = Parse("a=-12,b=0,c=9223372036854775807,d=-9223372036854775808,e=+5,f=007");
    ASSERT_EQ(6u, c.n);
    const int64_t want[] = {-12, 0, INT64_MAX, INT64_MIN, 5, 7};
    for (unsigned k = 0; k < 6; k++) {
        EXPECT_EQ(CAP_INT, c.v[k].type) << c.v[k].key;
        EXPECT_EQ(want[k], c.v[k].i) << c.v[k].key;
    }
}

// Beyond 64 bits, a bare sign, a decimal point, letters or blanks: a string,
// kept exactly.
TEST(CapsParse, StringValues)
{
    caps c = Parse("a=9223372036854775808,b=-9223372036854775809,c=1.5,d=eu,e=-,f=+,g=12a,h=0x10");
    ASSERT_EQ(8u, c.n);
    const char *want[] = {"9223372036854775808", "-9223372036854775809", "1.5", "eu", "-", "+",
                          "12a", "0x10"};
    for (unsigned k = 0; k < 8; k++) {
        EXPECT_EQ(CAP_STR, c.v[k].type) << c.v[k].key;
        EXPECT_STREQ(want[k], c.v[k].s) << c.v[k].key;
    }
}

// "k=" is the empty string, not a bool, an int or an error.
TEST(CapsParse, EmptyValueIsEmptyString)
{
    caps c = Parse("k=,j=1");
    ASSERT_EQ(2u, c.n);
    EXPECT_STREQ("k", c.v[0].key);
    EXPECT_EQ(CAP_STR, c.v[0].type);
    EXPECT_STREQ("", c.v[0].s);
    EXPECT_EQ(CAP_INT, c.v[1].type);
}

// A capability's value may hold '=' (only a requirement's may not): the key
// ends at the first '='.
TEST(CapsParse, ValueMayHoldEquals)
{
    caps c = Parse("a=b=c");
    ASSERT_EQ(1u, c.n);
    EXPECT_STREQ("a", c.v[0].key);
    EXPECT_EQ(CAP_STR, c.v[0].type);
    EXPECT_STREQ("b=c", c.v[0].s);
}

// Keys may use letters, digits, '_', '.' and '-'.
TEST(CapsParse, KeyCharacters)
{
    caps c = Parse("Az09_.-=1");
    ASSERT_EQ(1u, c.n);
    EXPECT_STREQ("Az09_.-", c.v[0].key);
}

// A key given twice keeps the last value, at the place it was first set.
TEST(CapsParse, DuplicateKeyKeepsLast)
{
    caps c = Parse("a=1,b=2,a=x");
    ASSERT_EQ(2u, c.n);
    EXPECT_STREQ("a", c.v[0].key);
    EXPECT_EQ(CAP_STR, c.v[0].type);
    EXPECT_STREQ("x", c.v[0].s);
    EXPECT_STREQ("b", c.v[1].key);
    EXPECT_EQ(2, c.v[1].i);
}

// NULL and "" are no capability, and empty *out first.
TEST(CapsParse, NullAndEmptyGiveNothing)
{
    caps c = Dirty();
    EXPECT_EQ(0, caps_parse(nullptr, &c));
    EXPECT_EQ(0u, c.n);
    c = Dirty();
    EXPECT_EQ(0, caps_parse("", &c));
    EXPECT_EQ(0u, c.n);
}

// The longest key and string value fit; one more character does not.
TEST(CapsParse, LengthLimits)
{
    std::string key(CAP_KEY_MAX - 1, 'k'), val(CAP_STR_MAX - 1, 'v');
    caps c = Parse((key + "=" + val).c_str());
    ASSERT_EQ(1u, c.n);
    EXPECT_EQ(key, c.v[0].key);
    EXPECT_EQ(val, c.v[0].s);

    c = Dirty();
    EXPECT_EQ(-EINVAL, caps_parse((key + "k=1").c_str(), &c));
    EXPECT_EQ(0u, c.n);
    c = Dirty();
    EXPECT_EQ(-EINVAL, caps_parse(("k=" + val + "v").c_str(), &c));
    EXPECT_EQ(0u, c.n);
}

// Each malformation is -EINVAL and leaves *out empty, even when good terms
// came before it.
TEST(CapsParse, MalformedIsEinvalAndEmpty)
{
    const char *bad[] = {
        "gpu",            // no '='
        "gpu=true,cores", // no '=' after a good term
        "=5",             // empty key
        "gpu=true,=5",    // empty key after a good term
        "a b=1",          // blank in the key
        "k!=1",           // '!' in the key
        "k>=1",           // '>' in the key
        "k/x=1",          // '/' in the key
        " k=1",           // leading blank
        "gpu=true,",      // trailing comma
        ",gpu=true",      // leading comma
        "a=1,,b=2",       // empty term
        ",",              // nothing but a comma
    };
    for (const char *text : bad) {
        caps c = Dirty();
        EXPECT_EQ(-EINVAL, caps_parse(text, &c)) << '"' << text << '"';
        EXPECT_EQ(0u, c.n) << '"' << text << '"';
        EXPECT_STRNE("", ts_last_error()) << '"' << text << '"';
    }
}

// ts_last_error names the bad part of this call (not of an earlier one).
TEST(CapsParse, ErrorNamesTheBadPart)
{
    caps c;
    EXPECT_EQ(-EINVAL, caps_parse("gpu=true,bogus", &c));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "bogus")) << ts_last_error();
    EXPECT_EQ(-EINVAL, caps_parse("x=1,wrong", &c));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "wrong")) << ts_last_error();
    EXPECT_EQ(nullptr, std::strstr(ts_last_error(), "bogus")) << ts_last_error();
    EXPECT_EQ(-EINVAL, caps_parse("ok=1,a b=1", &c));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "a b")) << ts_last_error();
    EXPECT_EQ(-EINVAL, caps_parse("ok=1,k!=1", &c));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "k!")) << ts_last_error();
}

// CAPS_MAX distinct keys fit (repeats do not count); one more is -ENOSPC
// with *out empty.
TEST(CapsParse, TooManyKeys)
{
    caps c = Parse(Keys(0, CAPS_MAX).c_str());
    EXPECT_EQ(unsigned(CAPS_MAX), c.n);
    c = Parse((Keys(0, CAPS_MAX) + "," + Keys(0, 5)).c_str());
    EXPECT_EQ(unsigned(CAPS_MAX), c.n);
    c = Dirty();
    EXPECT_EQ(-ENOSPC, caps_parse(Keys(0, CAPS_MAX + 1).c_str(), &c));
    EXPECT_EQ(0u, c.n);
}

// ---------------------------------------------------------------------------
// caps_set, caps_unset, caps_find

// caps_set adds a new key at the end and types its value as caps_parse does.
TEST(CapsSet, AddsTyped)
{
    caps c = Parse(nullptr);
    EXPECT_EQ(0, caps_set(&c, "gpu", "true"));
    EXPECT_EQ(0, caps_set(&c, "cores", "8"));
    EXPECT_EQ(0, caps_set(&c, "region", "eu"));
    EXPECT_EQ(0, caps_set(&c, "empty", ""));
    ASSERT_EQ(4u, c.n);
    EXPECT_TRUE(SameCaps(Parse("gpu=true,cores=8,region=eu,empty="), c));
}

// Setting a key again replaces its value in place, changing its type if need be.
TEST(CapsSet, ReplacesAndRetypes)
{
    caps c = Parse("a=1,gpu=true,z=2");
    EXPECT_EQ(0, caps_set(&c, "gpu", "4"));
    ASSERT_EQ(3u, c.n);
    EXPECT_STREQ("gpu", c.v[1].key);
    EXPECT_EQ(CAP_INT, c.v[1].type);
    EXPECT_EQ(4, c.v[1].i);
    EXPECT_EQ(0, caps_set(&c, "gpu", "nvidia"));
    EXPECT_EQ(CAP_STR, c.v[1].type);
    EXPECT_STREQ("nvidia", c.v[1].s);
    EXPECT_EQ(0, caps_set(&c, "gpu", "false"));
    EXPECT_EQ(CAP_BOOL, c.v[1].type);
    EXPECT_EQ(0, c.v[1].i);
    EXPECT_EQ(3u, c.n);
    EXPECT_EQ("a=1,gpu=false,z=2", Format(c));
}

// A bad key or value is -EINVAL and changes nothing.
TEST(CapsSet, BadKeyOrValue)
{
    caps c = Parse("a=1");
    caps before = c;
    EXPECT_EQ(-EINVAL, caps_set(&c, "", "1"));
    EXPECT_EQ(-EINVAL, caps_set(&c, "a b", "1"));
    EXPECT_EQ(-EINVAL, caps_set(&c, "k=", "1"));
    EXPECT_EQ(-EINVAL, caps_set(&c, "k,", "1"));
    EXPECT_EQ(-EINVAL, caps_set(&c, std::string(CAP_KEY_MAX, 'k').c_str(), "1"));
    EXPECT_EQ(-EINVAL, caps_set(&c, "s", std::string(CAP_STR_MAX, 'v').c_str()));
    EXPECT_EQ(-EINVAL, caps_set(&c, "s", "x,y"));  // ',' cannot be written back
    EXPECT_EQ(-EINVAL, caps_set(&c, "a", "x,y"));  // nor replace an existing one
    EXPECT_TRUE(SameCaps(before, c));
    EXPECT_EQ(0, caps_set(&c, std::string(CAP_KEY_MAX - 1, 'k').c_str(),
                          std::string(CAP_STR_MAX - 1, 'v').c_str()));
    EXPECT_EQ(2u, c.n);
}

// With CAPS_MAX keys, a new key is -ENOSPC (nothing changes) but an existing
// one can still be replaced.
TEST(CapsSet, Full)
{
    caps c = Parse(Keys(0, CAPS_MAX).c_str());
    caps before = c;
    EXPECT_EQ(-ENOSPC, caps_set(&c, "new", "1"));
    EXPECT_TRUE(SameCaps(before, c));
    EXPECT_EQ(0, caps_set(&c, "k5", "five"));
    EXPECT_EQ(unsigned(CAPS_MAX), c.n);
    EXPECT_STREQ("five", caps_find(&c, "k5")->s);
}

// caps_unset removes the key (true) keeping the others' order (from the
// front, middle or end), or says it was not there (false); a key set again
// goes at the end.
TEST(CapsUnset, RemovesKeepingOrder)
{
    caps c = Parse("a=1,b=2,c=3");
    EXPECT_TRUE(caps_unset(&c, "b"));
    EXPECT_EQ(2u, c.n);
    EXPECT_EQ(nullptr, caps_find(&c, "b"));
    EXPECT_EQ("a=1,c=3", Format(c));
    EXPECT_FALSE(caps_unset(&c, "b"));
    EXPECT_FALSE(caps_unset(&c, "zz"));
    EXPECT_EQ(2u, c.n);
    EXPECT_EQ(0, caps_set(&c, "b", "9"));
    EXPECT_EQ("a=1,c=3,b=9", Format(c));
    c = Parse("a=1,b=2,c=3,d=4,e=5");
    EXPECT_TRUE(caps_unset(&c, "b"));
    EXPECT_EQ("a=1,c=3,d=4,e=5", Format(c));
    EXPECT_TRUE(caps_unset(&c, "a"));
    EXPECT_EQ("c=3,d=4,e=5", Format(c));
    EXPECT_TRUE(caps_unset(&c, "e"));
    EXPECT_EQ("c=3,d=4", Format(c));
    EXPECT_EQ(0, caps_set(&c, "b", "9"));
    EXPECT_EQ("c=3,d=4,b=9", Format(c));
    EXPECT_TRUE(caps_unset(&c, "d"));
    EXPECT_TRUE(caps_unset(&c, "c"));
    EXPECT_TRUE(caps_unset(&c, "b"));
    EXPECT_EQ(0u, c.n);
    EXPECT_EQ("", Format(c));
}

// caps_find gives the key's capability, or NULL; keys match whole.
TEST(CapsFind, FindsByWholeKey)
{
    caps c = Parse("gpu=true,cores=8,region=eu");
    const cap *p = caps_find(&c, "cores");
    ASSERT_NE(nullptr, p);
    EXPECT_STREQ("cores", p->key);
    EXPECT_EQ(CAP_INT, p->type);
    EXPECT_EQ(8, p->i);
    ASSERT_NE(nullptr, caps_find(&c, "region"));
    EXPECT_STREQ("eu", caps_find(&c, "region")->s);
    EXPECT_EQ(nullptr, caps_find(&c, "core"));
    EXPECT_EQ(nullptr, caps_find(&c, "coresx"));
    EXPECT_EQ(nullptr, caps_find(&c, ""));
    caps none = Parse(nullptr);
    EXPECT_EQ(nullptr, caps_find(&none, "gpu"));
}

// ---------------------------------------------------------------------------
// caps_format

// The text form is exactly "KEY=VALUE,..." in order; bools as true/false,
// ints in plain decimal.
TEST(CapsFormat, Exact)
{
    EXPECT_EQ("gpu=true,cores=8,region=eu", Format(Parse("gpu=true,cores=8,region=eu")));
    EXPECT_EQ("a=false,b=-12,c=,d=b=c", Format(Parse("a=false,b=-12,c=,d=b=c")));
    EXPECT_EQ("e=5,f=7,g=0", Format(Parse("e=+5,f=007,g=-0")));
    EXPECT_EQ("m=-9223372036854775808,x=9223372036854775807",
              Format(Parse("m=-9223372036854775808,x=9223372036854775807")));
    EXPECT_EQ("", Format(Parse("")));
}

// parse(format(c)) == c, including values that look nearly like ints or bools.
TEST(CapsFormat, RoundTrip)
{
    const char *texts[] = {
        "gpu=true,cores=8,region=eu",
        "a=9223372036854775808,b=-,c=+,d=1.5,e=,f=True,g=b=c",
        "x=-9223372036854775808,y=0,z=false",
    };
    for (const char *t : texts) {
        caps c = Parse(t);
        caps again = Parse(Format(c).c_str());
        EXPECT_TRUE(SameCaps(c, again)) << t;
    }
    caps full = Parse(Keys(100, CAPS_MAX).c_str());
    EXPECT_TRUE(SameCaps(full, Parse(Format(full).c_str())));
    caps longest = Parse((std::string(CAP_KEY_MAX - 1, 'k') + "=" + std::string(CAP_STR_MAX - 1, 'v')).c_str());
    EXPECT_TRUE(SameCaps(longest, Parse(Format(longest).c_str())));
}

// A short buffer gets the truncated, terminated text and the return is still
// the length needed; nothing is written past len; len 0 writes nothing.
TEST(CapsFormat, ShortBuffer)
{
    caps c = Parse("gpu=true,cores=8,region=eu");
    const std::string full = "gpu=true,cores=8,region=eu";
    char buf[32];
    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(full.size(), caps_format(&c, buf, 10));
    EXPECT_EQ(full.substr(0, 9), std::string(buf));
    for (size_t k = 10; k < sizeof(buf); k++)
        EXPECT_EQ('#', buf[k]) << k;

    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(full.size(), caps_format(&c, buf, 1));
    EXPECT_EQ('\0', buf[0]);
    EXPECT_EQ('#', buf[1]);

    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(full.size(), caps_format(&c, buf, 0));
    EXPECT_EQ('#', buf[0]);
    EXPECT_EQ(full.size(), caps_format(&c, nullptr, 0));

    // Exactly the length: the last character gives way to the terminator.
    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(full.size(), caps_format(&c, buf, full.size()));
    EXPECT_EQ(full.substr(0, full.size() - 1), std::string(buf));
    std::memset(buf, '#', sizeof(buf));
    EXPECT_EQ(full.size(), caps_format(&c, buf, full.size() + 1));
    EXPECT_EQ(full, std::string(buf));
}

// ---------------------------------------------------------------------------
// reqs_parse

// Every operator, its key, and its value typed as a capability's.
TEST(ReqsParse, EveryOperator)
{
    reqs r = ParseReqs("gpu,!tpu,region=eu,zone!=b,cores>=8,mem<=-2,load>0,temp<90,n=007,on=true");
    ASSERT_EQ(10u, r.n);
    struct {
        req_op op;
        const char *key;
        cap_type type;  // for EQ..LT
        int64_t i;
        const char *s;
    } want[] = {
        {REQ_TRUE, "gpu", CAP_BOOL, 0, nullptr},  {REQ_FALSE, "tpu", CAP_BOOL, 0, nullptr},
        {REQ_EQ, "region", CAP_STR, 0, "eu"},     {REQ_NE, "zone", CAP_STR, 0, "b"},
        {REQ_GE, "cores", CAP_INT, 8, nullptr},   {REQ_LE, "mem", CAP_INT, -2, nullptr},
        {REQ_GT, "load", CAP_INT, 0, nullptr},    {REQ_LT, "temp", CAP_INT, 90, nullptr},
        {REQ_EQ, "n", CAP_INT, 7, nullptr},       {REQ_EQ, "on", CAP_BOOL, 1, nullptr},
    };
    for (unsigned k = 0; k < r.n; k++) {
        SCOPED_TRACE(want[k].key);
        EXPECT_EQ(want[k].op, r.v[k].op);
        EXPECT_STREQ(want[k].key, r.v[k].value.key);
        if (want[k].op == REQ_TRUE || want[k].op == REQ_FALSE)
            continue;
        EXPECT_EQ(want[k].type, r.v[k].value.type);
        if (want[k].type == CAP_STR)
            EXPECT_STREQ(want[k].s, r.v[k].value.s);
        else
            EXPECT_EQ(want[k].i, r.v[k].value.i);
    }
}

// The same key may appear in several terms (a range), all kept.
TEST(ReqsParse, RepeatedKeyKeepsBothTerms)
{
    reqs r = ParseReqs("cores>=2,cores<=8");
    ASSERT_EQ(2u, r.n);
    EXPECT_EQ(REQ_GE, r.v[0].op);
    EXPECT_EQ(REQ_LE, r.v[1].op);
}

// NULL and "" are no requirement.
TEST(ReqsParse, NullAndEmptyGiveNothing)
{
    reqs r = DirtyReqs();
    EXPECT_EQ(0, reqs_parse(nullptr, &r));
    EXPECT_EQ(0u, r.n);
    r = DirtyReqs();
    EXPECT_EQ(0, reqs_parse("", &r));
    EXPECT_EQ(0u, r.n);
}

// Each malformed term is -EINVAL.
TEST(ReqsParse, MalformedIsEinval)
{
    const std::string long_key(CAP_KEY_MAX, 'k');
    const char *bad[] = {
        "a>=x",      // N not an int
        "a>=1.5",    // nor this
        "a<9223372036854775808",  // nor beyond 64 bits
        "a>=",       // no N
        "a<",        // no N
        "=v",        // no key
        ">=3",       // no key
        "!",         // no key
        "!=3",       // no key
        "a=b=c",     // '=' in a value
        "!a=1",      // negation with a value
        "a b",       // blank in the key
        "a?",        // bad key character
        "gpu,",      // trailing comma
        "gpu,,cores>=1",  // empty term
        long_key.c_str(), // key too long
    };
    for (const char *text : bad) {
        reqs r = DirtyReqs();
        EXPECT_EQ(-EINVAL, reqs_parse(text, &r)) << '"' << text << '"';
        EXPECT_STRNE("", ts_last_error()) << '"' << text << '"';
    }
    reqs r;
    EXPECT_EQ(-EINVAL, reqs_parse(("region=" + std::string(CAP_STR_MAX, 'v')).c_str(), &r));
    EXPECT_EQ(0, reqs_parse(("region=" + std::string(CAP_STR_MAX - 1, 'v')).c_str(), &r));
    EXPECT_EQ(0, reqs_parse(std::string(CAP_KEY_MAX - 1, 'k').c_str(), &r));
}

// ts_last_error names the bad term of this call.
TEST(ReqsParse, ErrorNamesTheBadTerm)
{
    reqs r;
    EXPECT_EQ(-EINVAL, reqs_parse("gpu,cores>=x", &r));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "cores")) << ts_last_error();
    EXPECT_EQ(-EINVAL, reqs_parse("gpu,region=a=b", &r));
    EXPECT_NE(nullptr, std::strstr(ts_last_error(), "region")) << ts_last_error();
    EXPECT_EQ(nullptr, std::strstr(ts_last_error(), "cores")) << ts_last_error();
}

// REQS_MAX terms fit; one more is -ENOSPC.
TEST(ReqsParse, TooManyTerms)
{
    reqs r = ParseReqs(Terms(REQS_MAX).c_str());
    EXPECT_EQ(unsigned(REQS_MAX), r.n);
    EXPECT_EQ(-ENOSPC, reqs_parse(Terms(REQS_MAX + 1).c_str(), &r));
}

// ---------------------------------------------------------------------------
// reqs_append

// more's terms go after r's, in order.
TEST(ReqsAppend, Appends)
{
    reqs r = ParseReqs("gpu"), more = ParseReqs("cores>=8,region=eu");
    EXPECT_EQ(0, reqs_append(&r, &more));
    ASSERT_EQ(3u, r.n);
    EXPECT_STREQ("gpu", r.v[0].value.key);
    EXPECT_STREQ("cores", r.v[1].value.key);
    EXPECT_EQ(REQ_GE, r.v[1].op);
    EXPECT_EQ(8, r.v[1].value.i);
    EXPECT_STREQ("region", r.v[2].value.key);
    EXPECT_STREQ("eu", r.v[2].value.s);
    reqs none = ParseReqs(nullptr);
    EXPECT_EQ(0, reqs_append(&r, &none));
    EXPECT_EQ(3u, r.n);
}

// Up to REQS_MAX in all; beyond it -ENOSPC and r is unchanged.
TEST(ReqsAppend, FullLeavesUnchanged)
{
    reqs r = ParseReqs(Terms(10).c_str()), six = ParseReqs(Terms(6).c_str()),
         seven = ParseReqs(Terms(7).c_str());
    reqs before = r;
    EXPECT_EQ(-ENOSPC, reqs_append(&r, &seven));
    ASSERT_EQ(before.n, r.n);
    for (unsigned k = 0; k < r.n; k++) {
        EXPECT_EQ(before.v[k].op, r.v[k].op);
        EXPECT_STREQ(before.v[k].value.key, r.v[k].value.key);
        EXPECT_EQ(before.v[k].value.i, r.v[k].value.i);
    }
    EXPECT_EQ(0, reqs_append(&r, &six));
    EXPECT_EQ(unsigned(REQS_MAX), r.n);
    EXPECT_STREQ("k5", r.v[15].value.key);
}

// ---------------------------------------------------------------------------
// reqs_met

// One capability of every kind.
const char kAll[] =
    "t=true,f=false,z=0,p=5,neg=-3,s=eu,e=,big=9223372036854775807,small=-9223372036854775808";

struct MetCase {
    const char *req;
    bool met;
};

// Each operator against each kind of capability, and against none.
const MetCase kMetCases[] = {
    // KEY: present and not false, 0 or "".
    {"t", true}, {"f", false}, {"z", false}, {"p", true}, {"neg", true}, {"s", true},
    {"e", false}, {"missing", false},
    // !KEY: absent, false, 0 or "".
    {"!t", false}, {"!f", true}, {"!z", true}, {"!p", false}, {"!neg", false}, {"!s", false},
    {"!e", true}, {"!missing", true},
    // KEY=V: ints and bools by value, strings exactly.
    {"t=true", true}, {"t=false", false}, {"f=false", true}, {"f=true", false},
    {"p=5", true}, {"p=005", true}, {"p=+5", true}, {"p=6", false}, {"p=-5", false},
    {"neg=-3", true}, {"z=0", true}, {"z=-0", true},
    {"big=9223372036854775807", true}, {"small=-9223372036854775808", true},
    {"s=eu", true}, {"s=EU", false}, {"s=e", false}, {"s=eu2", false},
    {"p=five", false}, {"s=5", false}, {"missing=eu", false}, {"missing=1", false},
    {"missing=false", false},
    // KEY!=V: absent or different.
    {"s!=eu", false}, {"s!=us", true}, {"s!=EU", true}, {"p!=5", false}, {"p!=6", true},
    {"t!=true", false}, {"t!=false", true}, {"missing!=x", true}, {"missing!=0", true},
    // KEY>=N KEY<=N KEY>N KEY<N: an int, compared.
    {"p>=5", true}, {"p>=6", false}, {"p>=-100", true}, {"neg>=-3", true}, {"neg>=-2", false},
    {"p<=5", true}, {"p<=4", false}, {"neg<=-3", true}, {"neg<=-4", false}, {"z<=0", true},
    {"p>4", true}, {"p>5", false}, {"neg>-4", true}, {"neg>-3", false}, {"z>-1", true},
    {"p<6", true}, {"p<5", false}, {"neg<0", true}, {"neg<-3", false},
    {"big>=9223372036854775807", true}, {"big>0", true}, {"small<0", true},
    {"small<=-9223372036854775808", true}, {"small<-9223372036854775807", true},
    {"big<-9223372036854775808", false},
    // Not an int: never met, whatever N.
    {"s>=0", false}, {"s<=0", false}, {"s>-1", false}, {"s<100", false}, {"e<1", false},
    {"t>=1", false}, {"t>0", false}, {"f<=0", false}, {"f<1", false},
    {"missing>=0", false}, {"missing<=0", false}, {"missing>-1", false}, {"missing<1", false},
};

TEST(ReqsMet, EveryOperatorAndKind)
{
    caps c = Parse(kAll);
    for (const MetCase &mc : kMetCases) {
        reqs r = ParseReqs(mc.req);
        char why[128] = "";
        EXPECT_EQ(mc.met, reqs_met(&r, &c, why, sizeof(why))) << mc.req << " why: " << why;
        EXPECT_EQ(mc.met, reqs_met(&r, &c, nullptr, 0)) << mc.req;
        EXPECT_EQ(mc.met, reqs_met(&r, &c, nullptr, 128)) << mc.req;
    }
}

// Every term must hold.
TEST(ReqsMet, AllTermsMustHold)
{
    caps c = Parse(kAll);
    reqs r = ParseReqs("t,p>=5,s=eu,!f,missing!=1");
    EXPECT_TRUE(reqs_met(&r, &c, nullptr, 0));
    r = ParseReqs("t,p>=6,s=eu");
    EXPECT_FALSE(reqs_met(&r, &c, nullptr, 0));
    r = ParseReqs("p>=2,p<=8");
    EXPECT_TRUE(reqs_met(&r, &c, nullptr, 0));
    r = ParseReqs("p>=2,p<=4");
    EXPECT_FALSE(reqs_met(&r, &c, nullptr, 0));
}

// An empty requirement list is met by anything, even no capabilities.
TEST(ReqsMet, EmptyAlwaysMet)
{
    reqs r = ParseReqs(nullptr);
    caps none = Parse(nullptr), all = Parse(kAll);
    EXPECT_TRUE(reqs_met(&r, &none, nullptr, 0));
    EXPECT_TRUE(reqs_met(&r, &all, nullptr, 0));
    reqs zero{};
    EXPECT_TRUE(reqs_met(&zero, &none, nullptr, 0));
}

// When not met, why is non-empty and names the failing term's key (not a
// term that held).
TEST(ReqsMet, WhyNamesTheFailingKey)
{
    caps c = Parse("gpu=false,cores=4,region=us,arch=x86");
    struct {
        const char *req, *key;
    } cases[] = {
        {"region=eu", "region"}, {"cores>=8", "cores"}, {"cores<2", "cores"}, {"gpu", "gpu"},
        {"tpu", "tpu"},          {"!cores", "cores"},   {"region!=us", "region"},
        {"arch=arm", "arch"},    {"region>1", "region"}, {"mem>=1", "mem"},
        {"arch=x86,cores>=8", "cores"}, {"cores>=8,arch=x86", "cores"},
    };
    for (const auto &k : cases) {
        reqs r = ParseReqs(k.req);
        char why[256];
        std::memset(why, '#', sizeof(why));
        why[sizeof(why) - 1] = '\0';
        ASSERT_FALSE(reqs_met(&r, &c, why, sizeof(why))) << k.req;
        EXPECT_STRNE("", why) << k.req;
        EXPECT_NE(nullptr, std::strstr(why, k.key)) << k.req << " why: " << why;
        if (std::strcmp(k.key, "cores") == 0) {
            EXPECT_EQ(nullptr, std::strstr(why, "arch")) << k.req << " why: " << why;
        }
    }
}

// why stays within len, terminated; len 0 writes nothing.
TEST(ReqsMet, WhyRespectsLen)
{
    caps c = Parse("region=us");
    reqs r = ParseReqs("region=a-long-region-name-to-overflow");
    char why[16];
    std::memset(why, '#', sizeof(why));
    EXPECT_FALSE(reqs_met(&r, &c, why, 5));
    EXPECT_LT(std::strlen(why), 5u);
    for (size_t k = 5; k < sizeof(why); k++)
        EXPECT_EQ('#', why[k]) << k;
    std::memset(why, '#', sizeof(why));
    EXPECT_FALSE(reqs_met(&r, &c, why, 0));
    EXPECT_EQ('#', why[0]);
}

// The public readers a type's capability check uses see the same typed
// values placement does (ts_caps is the engine's caps, read-only).
TEST(CapsReaders, TypedValuesAndTheirErrors)
{
    caps c = Parse("gpu=true,cores=8,region=eu,off=false,neg=-3");
    const ts_caps *tc = reinterpret_cast<const ts_caps *>(&c);
    EXPECT_TRUE(ts_caps_has(tc, "gpu"));
    EXPECT_TRUE(ts_caps_has(tc, "off")) << "has: present, whatever the value";
    EXPECT_FALSE(ts_caps_has(tc, "ram"));
    EXPECT_FALSE(ts_caps_has(nullptr, "gpu"));
    EXPECT_FALSE(ts_caps_has(tc, nullptr));

    int64_t i = 0;
    EXPECT_EQ(ts_caps_int(tc, "cores", &i), 0);
    EXPECT_EQ(i, 8);
    EXPECT_EQ(ts_caps_int(tc, "neg", &i), 0);
    EXPECT_EQ(i, -3);
    EXPECT_EQ(ts_caps_int(tc, "gpu", &i), -EINVAL);
    EXPECT_EQ(ts_caps_int(tc, "region", &i), -EINVAL);
    EXPECT_EQ(ts_caps_int(tc, "ram", &i), -ENOENT);

    bool b = false;
    EXPECT_EQ(ts_caps_bool(tc, "gpu", &b), 0);
    EXPECT_TRUE(b);
    EXPECT_EQ(ts_caps_bool(tc, "off", &b), 0);
    EXPECT_FALSE(b);
    EXPECT_EQ(ts_caps_bool(tc, "cores", &b), -EINVAL);
    EXPECT_EQ(ts_caps_bool(tc, "ram", &b), -ENOENT);

    EXPECT_STREQ(ts_caps_str(tc, "region"), "eu");
    EXPECT_EQ(ts_caps_str(tc, "cores"), nullptr);
    EXPECT_EQ(ts_caps_str(tc, "ram"), nullptr);

    EXPECT_TRUE(ts_caps_meet(tc, "gpu,cores>=8,region=eu,!off"));
    EXPECT_TRUE(ts_caps_meet(tc, nullptr));
    EXPECT_FALSE(ts_caps_meet(tc, "cores>8"));
    EXPECT_FALSE(ts_caps_meet(tc, "cores>>8")) << "a text that does not parse meets nothing";
    EXPECT_FALSE(ts_caps_meet(nullptr, "gpu"));
}

}  // namespace
