/* SPDX-License-Identifier: MIT */
/* Compiles <thespis/export.h> alone as C++: the header must bring everything
 * it needs with it. Built with -Werror by tests/headers/meson.build. */
#include <thespis/export.h>
#include <cstddef>

int ts_header_check_export_cc();
int ts_header_check_export_cc()
{
    return (int)sizeof(char);
}
