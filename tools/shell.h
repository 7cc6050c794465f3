/* SPDX-License-Identifier: MIT */
/*
 * shell.h — `thespis shell` (shell.c): its --help text, its options and
 * what runs it, for the subcommand table in thespis.c.
 */
#ifndef TS_TOOLS_SHELL_H
#define TS_TOOLS_SHELL_H

#include "cli.h"

extern const char shell_usage[];
extern const struct option shell_options[];

int cmd_shell(const struct cli_cmd *cmd, const struct cli_args *a);

#endif
