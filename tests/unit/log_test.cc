// Unit tests: log levels, the file sink and its text and JSON formats.
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include <thespis/thespis.h>

namespace {
std::string temp_log()
{
    char path[] = "/tmp/thespis-log-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    return path;
}

std::string slurp(const std::string &path)
{
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string log_with(ts_log_format format, ts_log_level level)
{
    std::string path = temp_log();
    ts_config cfg;
    ts_config_init(&cfg);
    cfg.log.sink = TS_LOG_SINK_FILE;
    cfg.log.path = path.c_str();
    cfg.log.format = format;
    cfg.log.level = level;
    ts_system *sys = nullptr;
    EXPECT_EQ(ts_system_open(&cfg, &sys), 0);
    ts_system_log(sys, TS_LOG_INFO, "quiet \"%d\"", 1);
    ts_system_log(sys, TS_LOG_ERROR, "loud \"%d\"", 2);
    ts_system_close(sys);
    std::string text = slurp(path);
    unlink(path.c_str());
    return text;
}
} // namespace

TEST(Log, LevelNamesParseBothWays)
{
    for (int l = TS_LOG_DEBUG; l <= TS_LOG_OFF; l++) {
        ts_log_level out;
        ASSERT_EQ(ts_log_level_parse(ts_log_level_name((ts_log_level)l), &out), 0);
        EXPECT_EQ(out, l);
    }
    ts_log_level out;
    EXPECT_EQ(ts_log_level_parse("WARNING", &out), 0);
    EXPECT_EQ(out, TS_LOG_WARNING);
    EXPECT_EQ(ts_log_level_parse("loud", &out), -EINVAL);
}

TEST(Log, TextFileSinkFiltersByLevel)
{
    std::string text = log_with(TS_LOG_FORMAT_TEXT, TS_LOG_WARNING);
    EXPECT_EQ(text.find("quiet"), std::string::npos) << text;
    EXPECT_NE(text.find("error   [system] loud \"2\""), std::string::npos) << text;
}

TEST(Log, JsonFileSinkEscapes)
{
    std::string text = log_with(TS_LOG_FORMAT_JSON, TS_LOG_DEBUG);
    EXPECT_NE(text.find("\"level\":\"info\""), std::string::npos) << text;
    EXPECT_NE(text.find("\"text\":\"loud \\\"2\\\"\"}"), std::string::npos) << text;
}

TEST(Log, BadSinkConfigurationIsRefused)
{
    ts_config cfg;
    ts_config_init(&cfg);
    ts_system *sys = nullptr;
    cfg.log.sink = TS_LOG_SINK_FILE;
    EXPECT_EQ(ts_system_open(&cfg, &sys), -EINVAL);
    cfg.log.path = "/nonexistent-dir/x.log";
    EXPECT_EQ(ts_system_open(&cfg, &sys), -ENOENT);
    EXPECT_NE(std::string(ts_last_error()).find("cannot open log file"), std::string::npos);
    cfg.log.sink = TS_LOG_SINK_CALLBACK;
    EXPECT_EQ(ts_system_open(&cfg, &sys), -EINVAL);
    EXPECT_EQ(sys, nullptr);
}
