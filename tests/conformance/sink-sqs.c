/* sink-sqs.c - the sink kit applied to the sqs sink against a real AWS-compatible endpoint on
 * loopback (moto in server mode, `scripts/services aws-up`, ctest fixture `aws`); no real AWS
 * is reachable here. Each queue is read back with boto3 (tests/support/aws_tool.py): every
 * record arrives exactly once, with its message attributes, and on a FIFO queue with its
 * device as message group, in per-device order. A wrong secret on the signature-checking
 * instance is RETRY whose reason names the auth error and never the secret. */
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
static char std_url[512], fifo_url[512], common[512];

static int create(const char *name, int fifo, char *url, size_t size)
{
    int st;
    char *out = fy_h_aws_tool(endpoint, &st, "sqs-create %s%s", name, fifo ? " --fifo" : "");

    if (out == NULL || st != 0 || sscanf(out, "%511s", url) != 1) {
        fprintf(stderr, "sink-sqs: cannot create queue %s: %s\n", name, out ? out : "");
        free(out);
        return -1;
    }
    (void)size;
    free(out);
    return 0;
}

static int setup(void)
{
    char name[128];

    if (fy_h_aws(&endpoint, &auth_endpoint, &python) != 0) {
        return -1;
    }
    snprintf(common, sizeof(common), "region: eu-west-1\nendpoint: %s\naccess_key_id: testing\n"
             "secret_access_key: testing\nallow_insecure: true\nallow_private_networks: true\n"
             "batch_max_wait_ms: 10\n", endpoint);
    snprintf(name, sizeof(name), "%s", fy_h_unique("kit-std"));
    if (create(name, 0, std_url, sizeof(std_url)) != 0) {
        return -1;
    }
    snprintf(name, sizeof(name), "%s.fifo", fy_h_unique("kit-fifo"));
    return create(name, 1, fifo_url, sizeof(fifo_url));
}

/* Drain url and check: the kit sends its n records twice (two runs with the same envelope
 * ids); a standard queue holds each twice, a FIFO queue once (SQS drops the copy by
 * MessageDeduplicationId = envelope id), attributes set; on FIFO, group = the record's key
 * and n increasing per group; then nothing more. Returns the number of failed checks. */
static int read_back(const char *url, int n, int fifo)
{
    int copies = fifo ? 1 : 2;
    int st, got = 0, fails = 0, i;
    char *out = fy_h_aws_tool(endpoint, &st, "sqs-drain '%s' --expect %d --timeout 60", url,
                              n * copies);
    char *more;
    char *line, *save = NULL;
    int *seen = calloc((size_t)n, sizeof(int)), last[10];

    for (i = 0; i < 10; i++) {
        last[i] = -1;
    }
    for (line = out != NULL ? strtok_r(out, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *m = cJSON_Parse(line), *b, *attrs;
        const char *group;
        int t = -1;
        got++;
        b = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(m, "body")));
        t = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "obj"), "n"));
        attrs = cJSON_GetObjectItem(m, "attributes");
        if (t < 0 || t >= n) {
            fprintf(stderr, "sink-sqs: unexpected message %s\n", line);
            fails++;
        } else {
            seen[t]++;
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "recType")) ?: "",
                       "io.test.kit") != 0 ||
                strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "event_type")) ?: "",
                       "up") != 0 ||
                strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(attrs, "id")) ?: "", "kit-",
                        4) != 0) {
                fprintf(stderr, "sink-sqs: attributes missing in %s\n", line);
                fails++;
            }
            group = cJSON_GetStringValue(cJSON_GetObjectItem(m, "group"));
            if (fifo) {
                char want[32];
                snprintf(want, sizeof(want), "kit-key-%d", t % 10);
                if (group == NULL || strcmp(group, want) != 0) {
                    fprintf(stderr, "sink-sqs: message %d in group %s, want %s\n", t,
                            group ? group : "(none)", want);
                    fails++;
                }
                if (t <= last[t % 10]) {
                    fprintf(stderr, "sink-sqs: group %s: %d after %d\n", want, t, last[t % 10]);
                    fails++;
                }
                last[t % 10] = t;
            }
        }
        cJSON_Delete(b);
        cJSON_Delete(m);
    }
    for (i = 0; i < n; i++) {
        if (seen[i] != copies) {
            fprintf(stderr, "sink-sqs: record %d arrived %d times, want %d\n", i, seen[i],
                    copies);
            fails++;
        }
    }
    more = fy_h_aws_tool(endpoint, &st, "sqs-drain '%s' --timeout 3", url);
    if (more == NULL || more[0] != '\0') {
        fprintf(stderr, "sink-sqs: more messages than sent: %.300s\n", more ? more : "");
        fails++;
    }
    free(more);
    fprintf(stderr, "sink-sqs: %s: %d messages read back, %d failed checks\n", url, got, fails);
    free(seen);
    free(out);
    return fails;
}

static void test_standard(void)
{
    char yaml[1200];
    struct fy_sink_kit k = {"sqs", yaml, 300, 60000, FY_SINK_OK, NULL};

    snprintf(yaml, sizeof(yaml), "queue_url: %s\n%s", std_url, common);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    CU_ASSERT_EQUAL(read_back(std_url, 300, 0), 0);
}

static void test_fifo(void)
{
    char yaml[1200];
    struct fy_sink_kit k = {"sqs", yaml, 200, 60000, FY_SINK_OK, NULL};

    snprintf(yaml, sizeof(yaml), "queue_url: %s\n%s", fifo_url, common);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    CU_ASSERT_EQUAL(read_back(fifo_url, 200, 1), 0);
}

static void test_dead(void)
{
    const struct fy_sink_kit k = {"sqs",
                                  "queue_url: http://127.0.0.1:1/000000000000/q\n"
                                  "endpoint: http://127.0.0.1:1\nregion: eu-west-1\n"
                                  "access_key_id: kit\nsecret_access_key: kit\n"
                                  "allow_insecure: true\nallow_private_networks: true\n"
                                  "connect_timeout_ms: 500\ntimeout_ms: 1000\n",
                                  50, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

/* A wrong secret on the instance that checks signatures: every record RETRY ("auth: ..."),
 * and the secret appears nowhere (the kit's canary run does the looking). */
static void test_wrong_secret(void)
{
    char yaml[1200], url[512];
    struct fy_sink_kit k = {"sqs", yaml, 20, 20000, FY_SINK_RETRY, "auth: "};
    char id[128] = "", secret[128];

    CU_ASSERT_FATAL(fy_h_aws_key(id, sizeof(id), secret, sizeof(secret)) == 0);
    snprintf(url, sizeof(url), "%s/000000000000/kit-auth", auth_endpoint);
    snprintf(yaml, sizeof(yaml), "queue_url: %s\nregion: eu-west-1\nendpoint: %s\n"
             "access_key_id: %s\nallow_insecure: true\nallow_private_networks: true\n"
             "batch_max_wait_ms: 10\nsecret_access_key: wrong-secret\n", url, auth_endpoint,
             id);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    *strstr(yaml, "secret_access_key:") = '\0'; /* the canary run sets it */
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

/* The right key on the instance that checks signatures: SigV4 from libcurl is accepted. */
static void test_right_secret(void)
{
    char yaml[1200], url[512], id[128] = "", secret[128] = "";
    int st;
    char *out = NULL;
    struct fy_sink_kit k = {"sqs", yaml, 20, 20000, FY_SINK_OK, NULL};

    CU_ASSERT_FATAL(fy_h_aws_key(id, sizeof(id), secret, sizeof(secret)) == 0);
    out = fy_h_aws_tool(auth_endpoint, &st, "--key-id %s --secret %s sqs-create kit-signed", id,
                        secret);
    CU_ASSERT_FATAL(out != NULL && st == 0 && sscanf(out, "%511s", url) == 1);
    snprintf(yaml, sizeof(yaml), "queue_url: %s\nregion: eu-west-1\nendpoint: %s\n"
             "access_key_id: %s\nsecret_access_key: %s\nallow_insecure: true\n"
             "allow_private_networks: true\nbatch_max_wait_ms: 10\n", url, auth_endpoint, id,
             secret);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    free(out);
}

static void test_options(void)
{
    char yaml[1200];
    const struct fy_sink_kit k = {"sqs", yaml, 0, 0, FY_SINK_OK, NULL};

    snprintf(yaml, sizeof(yaml), "queue_url: %s\n%s", std_url, common);
    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-sqs", setup, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL ||
        CU_add_test(s, "standard queue: once each, EAGAIN, drain, read back", test_standard) ==
            NULL ||
        CU_add_test(s, "FIFO queue: groups, per-device order", test_fifo) == NULL ||
        CU_add_test(s, "dead endpoint: RETRY, never blocks", test_dead) == NULL ||
        CU_add_test(s, "right secret: signature checked and accepted", test_right_secret) ==
            NULL ||
        CU_add_test(s, "wrong secret: auth RETRY, secret never shown", test_wrong_secret) ==
            NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL) {
        return -1;
    }
    return 0;
}
