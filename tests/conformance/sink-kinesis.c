/* sink-kinesis.c - the sink kit applied to the kinesis sink against a real AWS-compatible
 * endpoint on loopback (moto in server mode, `scripts/services aws-up`, ctest fixture `aws`);
 * no real AWS is reachable here. The stream (2 shards) is read back with boto3
 * (tests/support/aws_tool.py): every record once, partition key = the record's device key,
 * and per device in order. */
#include "core/log.h"
#include "tests/conformance/sink_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_integration_tests(void);

static const char *endpoint, *auth_endpoint, *python;
static char stream[128], common[768];

static int setup(void)
{
    int st;
    char *out;

    if (fy_h_aws(&endpoint, &auth_endpoint, &python) != 0) {
        return -1;
    }
    snprintf(stream, sizeof(stream), "%s", fy_h_unique("kit-stream"));
    out = fy_h_aws_tool(endpoint, &st, "kinesis-create %s --shards 2", stream);
    free(out);
    if (st != 0) {
        fprintf(stderr, "sink-kinesis: cannot create stream %s\n", stream);
        return -1;
    }
    snprintf(common, sizeof(common), "stream_name: %s\nregion: eu-west-1\nendpoint: %s\n"
             "access_key_id: testing\nsecret_access_key: testing\nallow_insecure: true\n"
             "allow_private_networks: true\nbatch_max_wait_ms: 10\n"
             /* moto's Kinesis is not thread-safe: parallel PutRecords calls lose records
              * (tests/integration/17-e2e-aws.c); real Kinesis takes them */
             "parallel: 1\n", stream, endpoint);
    return 0;
}

/* Read the stream: the kit sends its n records twice (two runs, same ids), so each record is
 * there twice, key = kit-key-(t % 10), and per key t increases within each run: exactly one
 * step back per key (where the second run starts). Returns the number of failed checks. */
static int read_back(int n)
{
    int st, got = 0, fails = 0, i, last[10], back[10] = {0};
    char *out = fy_h_aws_tool(endpoint, &st, "kinesis-read %s --expect %d --timeout 60", stream,
                              2 * n);
    char *line, *save = NULL;
    int *seen = calloc((size_t)n, sizeof(int));

    for (i = 0; i < 10; i++) {
        last[i] = -1;
    }
    for (line = out != NULL ? strtok_r(out, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *m = cJSON_Parse(line), *b;
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(m, "key"));
        char want[32];
        int t;
        got++;
        b = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(m, "data")));
        t = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "obj"), "n"));
        if (b == NULL || t < 0 || t >= n) {
            fprintf(stderr, "sink-kinesis: unexpected record %s\n", line);
            fails++;
        } else {
            seen[t]++;
            snprintf(want, sizeof(want), "kit-key-%d", t % 10);
            if (key == NULL || strcmp(key, want) != 0) {
                fprintf(stderr, "sink-kinesis: record %d has key %s, want %s\n", t,
                        key ? key : "(none)", want);
                fails++;
            }
            if (t <= last[t % 10] && back[t % 10]++ > 0) {
                fprintf(stderr, "sink-kinesis: key %s: %d after %d\n", want, t, last[t % 10]);
                fails++;
            }
            last[t % 10] = t;
        }
        cJSON_Delete(b);
        cJSON_Delete(m);
    }
    for (i = 0; i < n; i++) {
        if (seen[i] != 2) {
            fprintf(stderr, "sink-kinesis: record %d arrived %d times, want 2\n", i, seen[i]);
            fails++;
        }
    }
    fprintf(stderr, "sink-kinesis: %s: %d records read back, %d failed checks\n", stream, got,
            fails);
    free(seen);
    free(out);
    return fails;
}

static void test_live(void)
{
    const struct fy_sink_kit k = {"kinesis", common, 300, 60000, FY_SINK_OK, NULL};

    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    CU_ASSERT_EQUAL(read_back(300), 0);
}

static void test_dead(void)
{
    const struct fy_sink_kit k = {"kinesis",
                                  "stream_name: s\nendpoint: http://127.0.0.1:1\n"
                                  "region: eu-west-1\naccess_key_id: kit\n"
                                  "secret_access_key: kit\nallow_insecure: true\n"
                                  "allow_private_networks: true\nconnect_timeout_ms: 500\n"
                                  "timeout_ms: 1000\n",
                                  50, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_wrong_secret(void)
{
    char yaml[1200];
    struct fy_sink_kit k = {"kinesis", yaml, 20, 20000, FY_SINK_RETRY, "auth: "};
    char id[128] = "", secret[128];

    CU_ASSERT_FATAL(fy_h_aws_key(id, sizeof(id), secret, sizeof(secret)) == 0);
    snprintf(yaml, sizeof(yaml), "stream_name: %s\nregion: eu-west-1\nendpoint: %s\n"
             "access_key_id: %s\nallow_insecure: true\nallow_private_networks: true\n"
             "batch_max_wait_ms: 10\nsecret_access_key: wrong-secret\n", stream,
             auth_endpoint, id);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    *strstr(yaml, "secret_access_key:") = '\0'; /* the canary run sets it */
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

static void test_options(void)
{
    const struct fy_sink_kit k = {"kinesis", common, 0, 0, FY_SINK_OK, NULL};

    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-kinesis", setup, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL ||
        CU_add_test(s, "stream: once each, EAGAIN, drain, read back in order", test_live) ==
            NULL ||
        CU_add_test(s, "dead endpoint: RETRY, never blocks", test_dead) == NULL ||
        CU_add_test(s, "wrong secret: auth RETRY, secret never shown", test_wrong_secret) ==
            NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL) {
        return -1;
    }
    return 0;
}
