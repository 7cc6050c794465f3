/* SPDX-License-Identifier: MIT */
/*
 * image_fetch.c — a node asked to create an actor of a code image it lacks
 * fetches the image from its convention's leader (design §8).
 *
 * All of it runs on the shard the Start came to, as messages between
 * shard control addresses, so that no shard ever waits on the network or
 * on the Source Authority (an actor, maybe on this very shard):
 *
 *   member shard                          leader shard
 *     Start (image X) parked
 *     NET_IMAGE_GET {X}        ------->   reads the node's sealed copy of X
 *                              <-------   NET_IMAGE_DATA {X, bytes, sig}
 *     hash == X? ELF checks?                (or NET_IMAGE_NONE {X, why})
 *     ts.ValidateImage ------> the node's Source Authority
 *     ts.ValidatedImage <----
 *     image_install; the parked Starts run
 *
 * Whatever goes wrong (the leader lacks it, the bytes do not hash to the
 * id asked for, they are no image, the authority refuses, nobody answers
 * within FETCH_TIMEOUT_NS) is logged TS-IMAGE-REFUSED and fails every
 * Start waiting for it, each actor's creator hearing why; the next Start
 * asks again. Messages sent to a waiting actor wait with it (shard_park).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <thespis/image.h>
#include <thespis/sysmsg.h>

#include "clock.h"
#include "err.h"
#include "image_wire.h"
#include "images.h"
#include "mailq.h"
#include "members.h"
#include "net.h"
#include "shard.h"
#include "shard_internal.h"
#include "start.h"
#include "system.h"

/* For the leader's answer, and again for the authority's. */
#define FETCH_TIMEOUT_NS (10ull * 1000000000u)

enum fetch_state { FETCH_ASKED, FETCH_VALIDATING };

struct image_fetch {
    struct image_fetch *next;
    ts_image_id id;
    uint16_t leader;
    uint8_t state;      /* enum fetch_state */
    bool asked;         /* of the leader; false: none known, refused at once */
    uint64_t deadline;  /* CLOCK_MONOTONIC ns */
    ts_addr authority;  /* asked (FETCH_VALIDATING): only its answer counts */
    void *data;         /* the leader's DATA payload, kept while the authority decides */
    size_t data_len;
    struct mailq starts; /* the Starts waiting for it */
};

static ts_addr self_addr(const struct shard *sh)
{
    return control_addr(sh->node, sh->id);
}

static struct image_fetch *find(struct shard *sh, const ts_image_id *id)
{
    for (struct image_fetch *f = sh->fetches; f; f = f->next)
        if (memcmp(&f->id, id, sizeof(*id)) == 0)
            return f;
    return NULL;
}

/* The convention's leader as this shard last saw it: its node; -1 when
 * this node leads; -2 when none is known now (a member that lost it). */
static int leader_of(struct shard *sh)
{
    shard_conv_poll(sh);
    for (unsigned i = 0; sh->conv && i < sh->conv->n; i++)
        if (sh->conv->v[i].leader)
            return sh->conv->v[i].self || sh->conv->v[i].node == sh->node
                       ? -1 : sh->conv->v[i].node;
    return __atomic_load_n(&sh->sys->members->leading, __ATOMIC_RELAXED) ? -1 : -2;
}

static void finish(struct shard *sh, struct image_fetch *f, int rc, const char *why);

bool image_fetch_park(struct shard *sh, const ts_msg *start)
{
    struct start_view v;
    if (!sh->sys->members || !start_names_image(ts_msg_data(start), start->len) ||
        start_read(ts_msg_data(start), start->len, &v) < 0 ||
        ts_image_id_is_zero(&v.image) || image_known(sh->sys->img, &v.image) ||
        sh->fetch_failed)
        return false; /* not this one's: actor_start goes on as ever */
    struct image_fetch *f = find(sh, &v.image);
    int leader = f ? f->leader : leader_of(sh);
    if (leader == -1)
        return false; /* the leader itself: "not loaded on this node" */
    if (!f) {
        if (!(f = calloc(1, sizeof(*f))) ||
            (leader >= 0 && shard_enqueue(sh, control_addr((uint16_t)leader, 0), self_addr(sh),
                                          NET_IMAGE_GET, &v.image, sizeof(v.image), 0) < 0)) {
            free(f);
            return false; /* out of memory: the Start fails as it would have */
        }
        f->id = v.image;
        f->leader = leader >= 0 ? (uint16_t)leader : 0;
        f->asked = leader >= 0;
        f->state = FETCH_ASKED;
        f->deadline = clock_deadline(clock_now_ns(), FETCH_TIMEOUT_NS);
        f->next = sh->fetches;
        sh->fetches = f;
        char hex[TS_IMAGE_ID_TEXT];
        if (f->asked)
            system_log(sh->sys, TS_LOG_INFO, "TS-IMAGE-FETCH", start->dst, v.type,
                       "image %s is not on this node: fetching it from the leader, node %u",
                       ts_image_id_format(&v.image, hex, sizeof(hex)), (unsigned)leader);
    }
    ts_msg *copy = mailq_push(&f->starts, start->len);
    if (!copy)
        return false;
    memcpy(copy, start, sizeof(*start) + start->len);
    if (leader == -2) /* said at once: the next Start asks again */
        finish(sh, f, -EHOSTUNREACH, "this member knows no leader of its convention now");
    return true;
}

/* Ends fetch f: installed (rc 0), or failed for why. Every Start waiting
 * for it runs now; a failed one's actor is refused with why (actor_setup
 * reads sh->fetch_failed). */
static void finish(struct shard *sh, struct image_fetch *f, int rc, const char *why)
{
    for (struct image_fetch **p = &sh->fetches; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    char hex[TS_IMAGE_ID_TEXT], text[768];
    ts_image_id_format(&f->id, hex, sizeof(hex));
    if (rc < 0) {
        if (f->asked)
            snprintf(text, sizeof(text), "image %s from the leader (node %u) refused: %s", hex,
                     f->leader, why);
        else
            snprintf(text, sizeof(text), "image %s refused: %s", hex, why);
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-REFUSED", TS_ADDR_NONE, "", "%s", text);
        sh->fetch_failed = text;
        sh->fetch_rc = rc;
    }
    for (ts_msg *m; (m = mailq_peek(&f->starts)); mailq_pop(&f->starts))
        actor_start(sh, m);
    sh->fetch_failed = NULL;
    mailq_fini(&f->starts);
    free(f->data);
    free(f);
}

/* The bytes approved: into this process and node. */
static void install(struct shard *sh, struct image_fetch *f, const ts_validate_image *v)
{
    char how[64];
    snprintf(how, sizeof(how), "fetched from the leader (node %u)", f->leader);
    int rc = image_install(sh->sys, sh, &f->id, v->bytes, v->len, v->sig, v->sig_len, how);
    char why[512];
    snprintf(why, sizeof(why), "%s", rc < 0 ? ts_last_error() : "");
    finish(sh, f, rc, why);
}

/* ---- the leader's side ------------------------------------------------ */

static void serve(struct shard *sh, const ts_msg *m)
{
    ts_image_id id;
    if (m->len != sizeof(id) || !m->src) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-MALFORMED", TS_ADDR_NONE, "",
                   "node %u asked for an image in %u bytes (16: its id); refused",
                   ts_addr_node(m->src), m->len);
        return;
    }
    memcpy(&id, ts_msg_data(m), sizeof(id));
    void *bytes = NULL;
    size_t len = 0, sig_len = 0;
    unsigned char sig[IMAGE_SIG_MAX];
    int rc = image_node_copy(sh->sys->img, &id, false, &bytes, &len, sig, &sig_len);
    size_t n = rc == 0 ? validate_image_size(len, sig_len) : 0;
    unsigned char *p = rc == 0 && n <= sh->sys->cfg.max_msg_size ? malloc(n) : NULL;
    if (p) {
        validate_image_write(p, &id, bytes, len, sig, sig_len);
        rc = shard_enqueue(sh, m->src, self_addr(sh), NET_IMAGE_DATA, p, n, 0);
    } else {
        unsigned char none[VALIDATED_HDR + VALIDATED_REASON_MAX + 1];
        char why[VALIDATED_REASON_MAX + 1];
        if (rc == 0)
            snprintf(why, sizeof(why), "%s", n > sh->sys->cfg.max_msg_size
                                                 ? "it is above the maximum message size"
                                                 : "out of memory");
        else
            snprintf(why, sizeof(why), "%s", ts_last_error());
        size_t k = validated_image_write(none, &id, false, why);
        rc = shard_enqueue(sh, m->src, self_addr(sh), NET_IMAGE_NONE, none, k, 0);
    }
    if (rc < 0)
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-FETCH", TS_ADDR_NONE, "",
                   "node %u asked for an image: no answer sent (%s)", ts_addr_node(m->src),
                   strerror(-rc));
    free(p);
    free(bytes);
}

/* ---- the asking side ---------------------------------------------------- */

static void got_data(struct shard *sh, const ts_msg *m)
{
    ts_validate_image v;
    struct image_fetch *f = NULL;
    if (validate_image_read(ts_msg_data(m), m->len, &v) < 0 || !(f = find(sh, &v.id)) ||
        f->state != FETCH_ASKED || f->leader != ts_addr_node(m->src)) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-MALFORMED", TS_ADDR_NONE, "",
                   "node %u sent %s image (%u bytes); dropped", ts_addr_node(m->src),
                   f ? "an unasked-for" : "a malformed or unasked-for", m->len);
        return;
    }
    char why[512], hex[TS_IMAGE_ID_TEXT], what[64];
    ts_image_id have;
    ts_image_id_of(v.bytes, v.len, &have);
    snprintf(what, sizeof(what), "image %s", ts_image_id_format(&f->id, hex, sizeof(hex)));
    if (memcmp(&have, &f->id, sizeof(have)) != 0) {
        snprintf(why, sizeof(why), "the %zu bytes that came hash to %s, not to its id: a "
                 "corrupted transfer", v.len, ts_image_id_format(&have, hex, sizeof(hex)));
        finish(sh, f, -EBADMSG, why);
        return;
    }
    if (image_check_bytes(v.bytes, v.len, what) < 0) {
        snprintf(why, sizeof(why), "%s", ts_last_error());
        finish(sh, f, -ENOEXEC, why);
        return;
    }
    ts_addr auth = atomic_load(&sh->sys->img->authority);
    if (!auth) {
        if (sh->sys->img->allow_unsigned)
            install(sh, f, &v);
        else
            finish(sh, f, -EPERM, "this node has no Source Authority (start it with an "
                   "authority key, or allow unsigned images)");
        return;
    }
    /* The DATA payload is a ValidateImage's: the authority gets it as it is. */
    if (!(f->data = malloc(m->len)) ||
        shard_enqueue(sh, auth, self_addr(sh), TS_MSG_VALIDATE_IMAGE, ts_msg_data(m), m->len,
                      0) < 0) {
        finish(sh, f, -ENOMEM, "out of memory");
        return;
    }
    memcpy(f->data, ts_msg_data(m), m->len);
    f->data_len = m->len;
    f->authority = auth;
    f->state = FETCH_VALIDATING;
    f->deadline = clock_deadline(clock_now_ns(), FETCH_TIMEOUT_NS);
}

static void got_none(struct shard *sh, const ts_msg *m)
{
    ts_validated_image v;
    struct image_fetch *f = NULL;
    if (validated_image_read(ts_msg_data(m), m->len, &v) < 0 || !(f = find(sh, &v.id)) ||
        f->state != FETCH_ASKED || f->leader != ts_addr_node(m->src)) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-MALFORMED", TS_ADDR_NONE, "",
                   "node %u sent a malformed or unasked-for image refusal; dropped",
                   ts_addr_node(m->src));
        return;
    }
    char why[VALIDATED_REASON_MAX + 32];
    snprintf(why, sizeof(why), "the leader does not have it: %s",
             v.reason_len ? v.reason : "no reason given");
    finish(sh, f, -ENOENT, why);
}

static void got_verdict(struct shard *sh, const ts_msg *m)
{
    ts_validated_image v;
    struct image_fetch *f = NULL;
    if (validated_image_read(ts_msg_data(m), m->len, &v) < 0 || !(f = find(sh, &v.id)) ||
        f->state != FETCH_VALIDATING || f->authority != m->src) {
        system_log(sh->sys, TS_LOG_WARNING, "TS-IMAGE-MALFORMED", m->src, "",
                   "a ts.ValidatedImage that answers no question of this shard; dropped");
        return;
    }
    if (!v.ok) {
        char why[VALIDATED_REASON_MAX + 48];
        snprintf(why, sizeof(why), "refused by the Source Authority: %s",
                 v.reason_len ? v.reason : "no reason given");
        finish(sh, f, -EPERM, why);
        return;
    }
    ts_validate_image data;
    if (validate_image_read(f->data, f->data_len, &data) < 0) { /* read once already */
        finish(sh, f, -EBADMSG, "its kept copy does not read");
        return;
    }
    install(sh, f, &data);
}

int image_fetch_control(struct shard *sh, const ts_msg *m)
{
    switch (m->type) {
    case NET_IMAGE_GET: serve(sh, m); return 0;
    case NET_IMAGE_DATA: got_data(sh, m); return 0;
    case NET_IMAGE_NONE: got_none(sh, m); return 0;
    case TS_MSG_VALIDATED_IMAGE: got_verdict(sh, m); return 0;
    default: return -ENOENT;
    }
}

void image_fetch_poll(struct shard *sh)
{
    uint64_t now = clock_now_ns();
    for (struct image_fetch *f = sh->fetches, *next; f; f = next) {
        next = f->next;
        if (now < f->deadline)
            continue;
        char why[128];
        if (f->state == FETCH_ASKED)
            snprintf(why, sizeof(why), "the leader did not send it within %llu s",
                     FETCH_TIMEOUT_NS / 1000000000ull);
        else
            snprintf(why, sizeof(why), "the Source Authority did not answer within %llu s",
                     FETCH_TIMEOUT_NS / 1000000000ull);
        finish(sh, f, -ETIMEDOUT, why);
        next = sh->fetches; /* finish ran Starts: the list may have changed */
    }
}

void image_fetch_fini(struct shard *sh)
{
    for (struct image_fetch *f = sh->fetches, *next; f; f = next) {
        next = f->next;
        mailq_fini(&f->starts);
        free(f->data);
        free(f);
    }
    sh->fetches = NULL;
}
