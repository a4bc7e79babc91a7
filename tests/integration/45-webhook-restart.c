/* 45-webhook-restart.c - W4 of docs/reliability.md: Ferry delivering uplinks to a real HTTPS
 * webhook is killed with SIGKILL while batches are in flight, several times, and restarted;
 * afterwards the receiver has every uplink the broker acknowledged, and the duplicates are
 * counted (bound: one batch in flight per kill plus the cursor batch). */
#include "core/b64.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

static void test_restart_mid_batch(void)
{
    const char *url, *brokers;
    char dir[128], yaml[4096], path[256];
    char *line = malloc(8 << 20); /* a batch of 500 envelopes is ~0.5 MB of base64 */
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    struct fy_h_oracle o;
    size_t n = 0, cap = 8192, missing;
    int port = 0, k;
    pid_t srv = 0, pub;
    FILE *f;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_https_start(dir, sizeof(dir), &port, &srv), 0);
    snprintf(yaml, sizeof(yaml),
             "journal: {dir: \"@DIR@/journal\"}\n"
             "sources:\n"
             "  - {name: ns, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     topics: [\"v3/+/devices/+/up\"]}\n"
             "sinks:\n"
             "  - {name: hook, type: webhook, url: \"https://127.0.0.1:%d/ok/restart\",\n"
             "     ca_file: \"%s/cert.pem\", batch_max_records: 500, batch_max_wait_ms: 200,\n"
             "     allow_private_networks: true}\n"
             "routes:\n"
             "  - {match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.test, sinks: [hook]}\n",
             url, fy_h_unique("it-whrestart"), port, dir);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    pub = fy_h_loadgen_start(url, "--count 6000 --devices 20 --format tts --qos 1 --rate 1000");
    for (k = 0; k < 5; k++) {
        usleep(700000 + (useconds_t)(rand() % 500000));
        CU_ASSERT_EQUAL(fy_h_ferry_stop(&h, SIGKILL, 5000), 128 + SIGKILL);
        CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    }
    FY_ASSERT_EQ(fy_h_wait_pid(pub, 120000), 0);
    /* let the backlog drain, then read what the receiver got */
    sleep(5);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 30000), 0);
    m = calloc(cap, sizeof(*m));
    snprintf(path, sizeof(path), "%s/requests.jsonl", dir);
    f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    while (fgets(line, 8 << 20, f) != NULL) {
        cJSON *req = cJSON_Parse(line), *arr, *e;
        const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(req, "body"));
        size_t blen = 0;
        char *body = b64 ? (char *)fy_b64_decode(b64, strlen(b64), &blen) : NULL;
        arr = body ? cJSON_ParseWithLength(body, blen) : NULL;
        cJSON_ArrayForEach(e, arr)
        {
            if (n == cap) {
                cap *= 2;
                m = realloc(m, cap * sizeof(*m));
            }
            memset(&m[n], 0, sizeof(m[n]));
            m[n].value = cJSON_PrintUnformatted(e);
            m[n].key = strdup("");
            n++;
        }
        cJSON_Delete(arr);
        free(body);
        cJSON_Delete(req);
    }
    fclose(f);
    free(line);
    missing = fy_h_oracle_check(m, n, 20, 0, 300, &o);
    printf("\n  webhook kill -9: 5 kills, %zu received, %zu unique, %zu duplicates, %zu missing\n",
           o.received, o.unique, o.duplicates, missing);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    CU_ASSERT_TRUE(o.duplicates <= 5 * (500 + 250 + 20));
    fy_h_kmsgs_free(m, n);
    fy_h_https_stop(dir, srv);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("webhook-restart", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "kill -9 mid-batch loses nothing", test_restart_mid_batch) == NULL) {
        return -1;
    }
    return 0;
}
