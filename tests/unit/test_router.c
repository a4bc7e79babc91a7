/* test_router.c - the compiled routing table: order, final, source filter, captures,
 * templates, and agreement with the reference matcher on 1,000 routes. */
#include "routes/router.h"
#include "routes/topic.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_router_tests(void);

static void test_order_final_source(void)
{
    struct fy_router_entry e[] = {
        {"v3/+/devices/+/up", NULL, 0},      /* 0 */
        {"v3/#", NULL, 0},                   /* 1 */
        {"v3/+/devices/+/up", "ttn", 1},     /* 2: final, only from ttn */
        {"#", NULL, 0},                      /* 3 */
    };
    struct fy_route_match m[8];
    struct fy_err err = {0};
    struct fy_router *r = fy_router_create(e, 4, &err);
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    n = fy_router_match(r, "v3/app@t/devices/d1/up", "ttn", m, 8);
    FY_ASSERT_EQ(n, 3); /* 0, 1, 2 then final stops before 3 */
    FY_ASSERT_EQ(m[0].route, 0);
    FY_ASSERT_EQ(m[1].route, 1);
    FY_ASSERT_EQ(m[2].route, 2);
    n = fy_router_match(r, "v3/app@t/devices/d1/up", "other", m, 8);
    FY_ASSERT_EQ(n, 3); /* 2 skipped by source, so 3 matches */
    FY_ASSERT_EQ(m[2].route, 3);
    n = fy_router_match(r, "x/y", "ttn", m, 8);
    FY_ASSERT_EQ(n, 1);
    FY_ASSERT_EQ(m[0].route, 3);
    n = fy_router_match(r, "$SYS/broker", "ttn", m, 8);
    FY_ASSERT_EQ(n, 0);
    /* max bounds the output */
    FY_ASSERT_EQ(fy_router_match(r, "v3/app@t/devices/d1/up", "other", m, 2), 2);
    fy_router_destroy(r);
}

static void test_captures_templates(void)
{
    struct fy_router_entry e[] = {{"application/+/device/+/event/#", NULL, 0}};
    struct fy_route_match m[2];
    struct fy_err err = {0};
    struct fy_router *r = fy_router_create(e, 1, &err);
    const char *vars[] = {"recType", "io.up", "deviceId", "d1", NULL};
    char out[128];

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    FY_ASSERT_EQ(fy_router_match(r, "application/a1/device/0102/event/up", NULL, m, 2), 1);
    FY_ASSERT_EQ(m[0].n_caps, 3);
    FY_ASSERT_OK(fy_template_expand("lora.{recType}.{1}.{2}.{3}.{{x}}", vars, &m[0], out,
                                    sizeof(out), &err), &err);
    FY_ASSERT_STR(out, "lora.io.up.a1.0102.up.{x}");
    FY_ASSERT_EQ(fy_template_expand("{nope}", vars, &m[0], out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_template_expand("{recType", vars, &m[0], out, sizeof(out), &err), FY_EINVAL);
    FY_ASSERT_EQ(fy_template_expand("{recType}{recType}", vars, &m[0], out, 8, &err), FY_ETOOBIG);
    FY_ASSERT_OK(fy_template_check("a.{recType}.{8}", (const char *const[]){"recType", NULL},
                                   1, &err), &err);
    FY_ASSERT_EQ(fy_template_check("a.{devEUI}", (const char *const[]){"recType", NULL}, 1, &err),
                 FY_EINVAL);
    fy_router_destroy(r);
}

/* "a/#" matches "a" with an empty '#' capture; the remainder is captured without its '/'. */
static void test_hash_captures(void)
{
    struct fy_router_entry e[] = {{"sport/#", NULL, 0}, {"+/+/#", NULL, 0}, {"#", NULL, 0}};
    struct fy_route_match m[4];
    struct fy_err err = {0};
    struct fy_router *r = fy_router_create(e, 3, &err);
    char out[64];

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    FY_ASSERT_EQ(fy_router_match(r, "sport", NULL, m, 4), 2); /* sport/# and # */
    FY_ASSERT_EQ(m[0].route, 0);
    FY_ASSERT_EQ(m[0].n_caps, 1);
    FY_ASSERT_EQ(m[0].cap_len[0], 0);
    FY_ASSERT_EQ(m[1].route, 2);
    FY_ASSERT_EQ(m[1].cap_len[0], 5);
    /* an empty capture cannot be expanded into a destination */
    FY_ASSERT_EQ(fy_template_expand("x.{1}", NULL, &m[0], out, sizeof(out), &err),
                 FY_ENOTFOUND);
    FY_ASSERT_EQ(fy_router_match(r, "sport/tennis/p1/rank", NULL, m, 4), 3);
    FY_ASSERT_EQ(m[0].n_caps, 1);
    FY_ASSERT_EQ(m[0].cap_len[0], strlen("tennis/p1/rank"));
    CU_ASSERT_NSTRING_EQUAL(m[0].cap[0], "tennis/p1/rank", m[0].cap_len[0]);
    FY_ASSERT_EQ(m[1].n_caps, 3);
    CU_ASSERT_NSTRING_EQUAL(m[1].cap[0], "sport", m[1].cap_len[0]);
    CU_ASSERT_NSTRING_EQUAL(m[1].cap[1], "tennis", m[1].cap_len[1]);
    CU_ASSERT_NSTRING_EQUAL(m[1].cap[2], "p1/rank", m[1].cap_len[2]);
    /* empty levels are levels: "a//b" has an empty second level */
    FY_ASSERT_EQ(fy_router_match(r, "a//b", NULL, m, 4), 2);
    FY_ASSERT_EQ(m[0].route, 1);
    FY_ASSERT_EQ(m[0].cap_len[1], 0);
    CU_ASSERT_NSTRING_EQUAL(m[0].cap[2], "b", m[0].cap_len[2]);
    /* "+/+/#" matches "a/" (levels "a" and "") */
    FY_ASSERT_EQ(fy_router_match(r, "a/", NULL, m, 4), 2);
    FY_ASSERT_EQ(m[0].route, 1);
    fy_router_destroy(r);
}

/* More '+' levels than FY_ROUTER_MAX_CAPS still match; only the first eight are captured. */
static void test_many_wildcards(void)
{
    struct fy_router_entry e[] = {{"+/+/+/+/+/+/+/+/+/+/#", NULL, 0}};
    struct fy_route_match m[2];
    struct fy_err err = {0};
    struct fy_router *r = fy_router_create(e, 1, &err);

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    FY_ASSERT_EQ(fy_router_match(r, "1/2/3/4/5/6/7/8/9/10/11", NULL, m, 2), 1);
    FY_ASSERT_EQ(m[0].n_caps, FY_ROUTER_MAX_CAPS);
    CU_ASSERT_NSTRING_EQUAL(m[0].cap[7], "8", m[0].cap_len[7]);
    FY_ASSERT_EQ(fy_router_match(r, "1/2/3/4/5/6/7/8/9", NULL, m, 2), 0);
    fy_router_destroy(r);
}

/* 300 routes match one topic (beyond the lookup's stack buffer): all come back, in table
 * order, and a `final` route in the middle stops the rest. */
static void test_many_matches_final(void)
{
    struct fy_router_entry *e = calloc(300, sizeof(*e));
    struct fy_route_match *m = calloc(300, sizeof(*m));
    static const char *const shapes[] = {"#", "a/#", "a/+", "+/b", "a/b", "+/+", "+/#"};
    struct fy_err err = {0};
    struct fy_router *r;
    size_t i, n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    for (i = 0; i < 300; i++) {
        e[i].filter = shapes[(i * 5) % 7];
    }
    r = fy_router_create(e, 300, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    n = fy_router_match(r, "a/b", NULL, m, 300);
    FY_ASSERT_EQ(n, 300);
    for (i = 0; i < n; i++) {
        FY_ASSERT_EQ(m[i].route, i);
    }
    fy_router_destroy(r);
    e[200].final = 1;
    r = fy_router_create(e, 300, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    FY_ASSERT_EQ(fy_router_match(r, "a/b", NULL, m, 300), 201);
    FY_ASSERT_EQ(m[200].route, 200);
    fy_router_destroy(r);
    free(e);
    free(m);
}

static void test_bad_filter(void)
{
    struct fy_router_entry e[] = {{"a/b", NULL, 0}, {"a/#/b", NULL, 0}};
    struct fy_err err = {0};

    CU_ASSERT_PTR_NULL(fy_router_create(e, 2, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "route 2"));
}

/* 1,000 routes of mixed shapes: the trie agrees with the reference matcher on every topic. */
static void test_many_routes_agree(void)
{
    struct fy_router_entry *e = calloc(1000, sizeof(*e));
    char (*filters)[64] = calloc(1000, 64);
    struct fy_route_match m[64];
    struct fy_err err = {0};
    struct fy_router *r;
    int i, t, disagree = 0;

    for (i = 0; i < 1000; i++) {
        switch (i % 4) {
        case 0: snprintf(filters[i], 64, "v3/app%d@ttn/devices/+/up", i); break;
        case 1: snprintf(filters[i], 64, "application/%d/device/+/event/#", i); break;
        case 2: snprintf(filters[i], 64, "site/%d/+/temp", i % 50); break;
        default: snprintf(filters[i], 64, "+/%d/#", i % 7); break;
        }
        e[i].filter = filters[i];
    }
    r = fy_router_create(e, 1000, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    for (t = 0; t < 2000; t++) {
        char topic[128];
        size_t n, k, expect = 0;
        switch (t % 4) {
        case 0: snprintf(topic, sizeof(topic), "v3/app%d@ttn/devices/d/up", t % 1100); break;
        case 1: snprintf(topic, sizeof(topic), "application/%d/device/x/event/up", t % 1100); break;
        case 2: snprintf(topic, sizeof(topic), "site/%d/room/temp", t % 60); break;
        default: snprintf(topic, sizeof(topic), "q/%d/z", t % 9); break;
        }
        n = fy_router_match(r, topic, NULL, m, 64);
        for (k = 0; k < 1000; k++) {
            if (fy_topic_match(filters[k], topic)) {
                if (expect >= n || m[expect].route != k) {
                    disagree++;
                }
                expect++;
            }
        }
        if (expect != n) {
            disagree++;
        }
    }
    FY_ASSERT_EQ(disagree, 0);
    fy_router_destroy(r);
    free(e);
    free(filters);
}

int init_router_tests(void)
{
    CU_pSuite s = CU_add_suite("router", NULL, NULL);

    if (s == NULL || CU_add_test(s, "order, final, source", test_order_final_source) == NULL ||
        CU_add_test(s, "captures and templates", test_captures_templates) == NULL ||
        CU_add_test(s, "invalid filter named", test_bad_filter) == NULL ||
        CU_add_test(s, "'#' captures and empty levels", test_hash_captures) == NULL ||
        CU_add_test(s, "more '+' levels than captures", test_many_wildcards) == NULL ||
        CU_add_test(s, "300 matches in order, final", test_many_matches_final) == NULL ||
        CU_add_test(s, "1,000 routes agree with the reference", test_many_routes_agree) == NULL) {
        return -1;
    }
    return 0;
}
