/* SPDX-License-Identifier: MIT */
/* json.h — thespis-perf's result files read as a tree of plain nodes
 * (jansson parses; json.c copies its tree into this one, which the report
 * code walks). Numbers are doubles (exact for integers below 2^53). */
#ifndef TS_PERF_JSON_H
#define TS_PERF_JSON_H

#include <stddef.h>
#include <stdio.h>

enum json_kind { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct json {
    enum json_kind kind;
    int boolean;
    double num;
    char *str;          /* JV_STR: the text, NUL-terminated */
    char *key;          /* a member of an object: its name */
    struct json *kids;  /* JV_ARR, JV_OBJ: the elements or members */
    size_t n;
};

/* Parses len bytes of text into *out (free with json_free). Returns 0,
 * -EINVAL when the text is not one JSON object or array (err says where
 * and why; an object with a name twice is refused), or -ENOMEM. */
int json_parse(const char *text, size_t len, struct json **out, char *err, size_t errlen);
/* Reads a whole file and parses it. Also -errno of the read. */
int json_parse_file(const char *path, struct json **out, char *err, size_t errlen);
void json_free(struct json *j);

/* A member of an object by name, or NULL (also when obj is not an object). */
const struct json *json_get(const struct json *obj, const char *key);
/* The member's number, string or array, or NULL / fallback when it is
 * absent or of another kind. */
double json_num(const struct json *obj, const char *key, double fallback);
const char *json_str(const struct json *obj, const char *key);
const struct json *json_arr(const struct json *obj, const char *key);

/* Writes s as a JSON string, quoted and escaped. */
void json_write_str(FILE *f, const char *s);

#endif
