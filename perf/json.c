/* SPDX-License-Identifier: MIT */
/* json.c — json.h over jansson: jansson parses (strictly: one value, no
 * duplicate names, UTF-8 checked), and its tree is copied into json.h's. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json.h"

static void json_clear(struct json *j)
{
    for (size_t i = 0; i < j->n; i++)
        json_clear(&j->kids[i]);
    free(j->kids);
    free(j->str);
    free(j->key);
}

void json_free(struct json *j)
{
    if (!j)
        return;
    json_clear(j);
    free(j);
}

/* Copies v into *out (zeroed), named key when a member. 0 or -ENOMEM. */
static int copy(json_t *v, const char *key, struct json *out)
{
    if (key && !(out->key = strdup(key)))
        return -ENOMEM;
    switch (json_typeof(v)) {
    case JSON_NULL: out->kind = JV_NULL; return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        out->kind = JV_BOOL;
        out->boolean = json_is_true(v);
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        out->kind = JV_NUM;
        out->num = json_number_value(v);
        return 0;
    case JSON_STRING:
        out->kind = JV_STR;
        return (out->str = strdup(json_string_value(v))) ? 0 : -ENOMEM;
    case JSON_ARRAY:
    case JSON_OBJECT: break;
    }
    bool obj = json_is_object(v);
    out->kind = obj ? JV_OBJ : JV_ARR;
    size_t n = obj ? json_object_size(v) : json_array_size(v);
    if (n && !(out->kids = calloc(n, sizeof(*out->kids))))
        return -ENOMEM;
    if (!obj) {
        for (; out->n < n; out->n++)
            if (copy(json_array_get(v, out->n), NULL, &out->kids[out->n]) < 0)
                return -ENOMEM;
        return 0;
    }
    const char *k;
    json_t *m;
    json_object_foreach(v, k, m) {
        if (copy(m, k, &out->kids[out->n++]) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int convert(json_t *root, const json_error_t *e, struct json **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "line %d, column %d: %s", e->line, e->column, e->text);
        return json_error_code(e) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
    }
    struct json *j = calloc(1, sizeof(*j));
    int rc = j ? copy(root, NULL, j) : -ENOMEM;
    json_decref(root);
    if (rc < 0) {
        json_free(j);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return rc;
    }
    *out = j;
    return 0;
}

int json_parse(const char *text, size_t len, struct json **out, char *err, size_t errlen)
{
    json_error_t e;
    return convert(json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), &e, out, err, errlen);
}

int json_parse_file(const char *path, struct json **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f)
        return -errno;
    json_error_t e;
    int rc = convert(json_loadf(f, JSON_REJECT_DUPLICATES, &e), &e, out, err, errlen);
    if (rc == -EINVAL && ferror(f))
        rc = -EIO;
    fclose(f);
    return rc;
}

const struct json *json_get(const struct json *obj, const char *key)
{
    if (!obj || obj->kind != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->kids[i].key, key) == 0)
            return &obj->kids[i];
    return NULL;
}

double json_num(const struct json *obj, const char *key, double fallback)
{
    const struct json *j = json_get(obj, key);
    return j && j->kind == JV_NUM ? j->num : fallback;
}

const char *json_str(const struct json *obj, const char *key)
{
    const struct json *j = json_get(obj, key);
    return j && j->kind == JV_STR ? j->str : NULL;
}

const struct json *json_arr(const struct json *obj, const char *key)
{
    const struct json *j = json_get(obj, key);
    return j && j->kind == JV_ARR ? j : NULL;
}

void json_write_str(FILE *f, const char *s)
{
    json_t *v = json_string(s ? s : "");
    char *text = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    fputs(text ? text : "\"\"", f); /* "" only out of memory, or s not UTF-8 */
    free(text);
    json_decref(v);
}
