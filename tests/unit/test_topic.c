/* test_topic.c - MQTT topic filter validation and matching, including the spec's edge cases. */
#include "routes/topic.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

int init_topic_tests(void);

static void test_match(void)
{
    static const struct {
        const char *filter, *topic;
        int match;
    } cases[] = {
        {"a/b/c", "a/b/c", 1},        {"a/b/c", "a/b", 0},          {"a/+/c", "a/x/c", 1},
        {"a/+/c", "a/x/y/c", 0},      {"a/#", "a", 1},              {"a/#", "a/b/c", 1},
        {"a/#", "ab", 0},             {"#", "a/b", 1},              {"+", "a", 1},
        {"+", "a/b", 0},              {"+/+", "/a", 1},             {"a//c", "a//c", 1},
        {"a/+/c", "a//c", 1},         {"a/b/", "a/b/", 1},          {"a/b/", "a/b", 0},
        {"/#", "/a", 1},              {"#", "$SYS/x", 0},           {"+/x", "$SYS/x", 0},
        {"$SYS/#", "$SYS/x", 1},      {"$SYS/+", "$SYS/x", 1},      {"a/+", "a/", 1},
        {"v3/+/devices/+/up", "v3/app@ttn/devices/dev1/up", 1},
        {"v3/+/devices/+/up", "v3/app@ttn/devices/dev1/join", 0},
        {"$share/g/a/+", "a/b", 1},   {"$share/g/#", "x/y", 1},
        {"sport/#", "sport", 1},      {"sport/#", "sports", 0},     {"#", "/", 1},
        {"+/+", "/", 1},              {"+", "/", 0},                {"/+", "/", 1},
        {"a/+/+", "a/", 0},           {"a/#", "a/", 1},             {"+/#", "$SYS", 0},
        {"$share/g/#", "$SYS/x", 0},  {"$SYS", "$SYS", 1},          {"a", "A", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = fy_topic_match(cases[i].filter, cases[i].topic);
        if (got != cases[i].match) {
            fprintf(stderr, "\nfilter '%s' topic '%s': got %d\n", cases[i].filter,
                    cases[i].topic, got);
        }
        FY_ASSERT_EQ(got, cases[i].match);
    }
}

static void test_validate(void)
{
    static const char *const good[] = {"a", "a/b", "+", "#", "a/+/b", "a/#", "/", "//",
                                       "+/+", "$share/g/a/#", "$SYS/#", NULL};
    static const char *const bad[] = {"", "a/#/b", "a+", "a/b#", "#/a", "a/+b", "+a/b",
                                      "$share//a", "$share/g", "$share/g+/a", "$share/g/",
                                      "$share/g#/a", "$share/", "a/##", "++", NULL};
    struct fy_err err = {0};
    size_t i;

    for (i = 0; good[i] != NULL; i++) {
        FY_ASSERT_OK(fy_topic_filter_check(good[i], &err), &err);
    }
    for (i = 0; bad[i] != NULL; i++) {
        int rc = fy_topic_filter_check(bad[i], &err);
        if (rc == FY_OK) {
            fprintf(stderr, "\naccepted bad filter '%s'\n", bad[i]);
        }
        FY_ASSERT_EQ(rc, FY_EINVAL);
        CU_ASSERT_TRUE(err.msg[0] != '\0');
    }
    {
        /* the 65535-byte limit of an MQTT UTF-8 string */
        char *longf = malloc(65537);
        CU_ASSERT_PTR_NOT_NULL_FATAL(longf);
        memset(longf, 'a', 65536);
        longf[65536] = '\0';
        FY_ASSERT_EQ(fy_topic_filter_check(longf, &err), FY_EINVAL);
        CU_ASSERT_FALSE(fy_topic_name_valid(longf));
        longf[65535] = '\0';
        FY_ASSERT_OK(fy_topic_filter_check(longf, &err), &err);
        CU_ASSERT_TRUE(fy_topic_name_valid(longf));
        free(longf);
    }
    CU_ASSERT_TRUE(fy_topic_name_valid("a/b"));
    CU_ASSERT_TRUE(fy_topic_name_valid("a//b"));
    CU_ASSERT_TRUE(fy_topic_name_valid("/"));
    CU_ASSERT_FALSE(fy_topic_name_valid("a/#"));
    CU_ASSERT_FALSE(fy_topic_name_valid("a/+"));
    CU_ASSERT_FALSE(fy_topic_name_valid(""));
    FY_ASSERT_STR(fy_topic_unshare("$share/grp/v3/#"), "v3/#");
    FY_ASSERT_STR(fy_topic_unshare("v3/#"), "v3/#");
}

int init_topic_tests(void)
{
    CU_pSuite s = CU_add_suite("topic", NULL, NULL);

    if (s == NULL || CU_add_test(s, "matching", test_match) == NULL ||
        CU_add_test(s, "validation", test_validate) == NULL) {
        return -1;
    }
    return 0;
}
