/* 10-e2e-formats.c - uplinks of both network formats published to the real mosquitto arrive
 * in the real Kafka as the expected envelopes, with key = devEUI and the recType/event_type/id
 * headers; bad input (malformed JSON, wrong format, binary garbage, 1 MB) is dead-lettered
 * with a reason while the next good message still goes through; SIGTERM exits 0. */
#include "core/file.h"
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_integration_tests(void);

static char *slurp(const char *path, size_t *len)
{
    return fy_file_read(path, 1u << 20, len, NULL);
}

static const struct fy_h_kmsg *find_key(const struct fy_h_kmsg *m, size_t n, const char *key)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(m[i].key, key) == 0) {
            return &m[i];
        }
    }
    return NULL;
}

static void check_envelope(const struct fy_h_kmsg *k, const char *rec_type, const char *dev_eui,
                           int f_port)
{
    cJSON *env = cJSON_Parse(k->value);
    cJSON *obj = cJSON_GetObjectItem(env, "obj");

    CU_ASSERT_PTR_NOT_NULL_FATAL(env);
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(env, "event_type")), "create");
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(env, "obj_type")), "objs");
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(env, "recType")), rec_type);
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(env, "source")), "ns");
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(env, "id")), k->id);
    FY_ASSERT_STR(cJSON_GetStringValue(cJSON_GetObjectItem(obj, "devEUI")), dev_eui);
    FY_ASSERT_EQ(cJSON_GetObjectItem(obj, "fPort")->valueint, f_port);
    FY_ASSERT_STR(k->rec_type, rec_type);
    FY_ASSERT_STR(k->event_type, "create");
    FY_ASSERT_EQ(strlen(k->id), 32);
    cJSON_Delete(env);
}

static void test_formats_and_bad_input(void)
{
    const char *url, *brokers;
    const char *topic = fy_h_unique("it-formats");
    char yaml[4096], path[512];
    struct fy_h_ferry h;
    struct fy_h_kmsg *m = NULL;
    size_t n, len = 0;
    char *tts, *cs, *big;
    static const unsigned char garbage[] = {0x00, 0xff, 0xfe, 0x01, '{', 0x80, 0x81, '"'};

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    fy_h_config(yaml, sizeof(yaml), url, brokers, topic, fy_h_unique("it-formats"), NULL, "",
                "");
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 2 filter(s)", 20000));

    snprintf(path, sizeof(path), "%s/uplinks/tts-v3/docs-mqtt-uplink.json", FERRY_FIXTURES);
    tts = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tts);
    FY_ASSERT_EQ(fy_h_publish(url, "v3/app1@ttn/devices/dev1/up", tts, len, 1), 0);
    snprintf(path, sizeof(path), "%s/uplinks/chirpstack-v4/docs-event-up.json", FERRY_FIXTURES);
    cs = slurp(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    FY_ASSERT_EQ(fy_h_publish(url, "application/17c82e96/device/0101010101010101/event/up", cs,
                              len, 1), 0);

    /* bad input, each must be dead-lettered with a reason and not stop Ferry */
    FY_ASSERT_EQ(fy_h_publish(url, "v3/app1@ttn/devices/dev1/up", "{\"end_device_ids\": ", 19,
                              1), 0);
    FY_ASSERT_EQ(fy_h_publish(url, "v3/app1@ttn/devices/dev1/up", cs, len, 1), 0);
    FY_ASSERT_EQ(fy_h_publish(url, "application/x/device/0101010101010101/event/up", garbage,
                              sizeof(garbage), 1), 0);
    big = malloc(1 << 20);
    memset(big, 'x', 1 << 20);
    FY_ASSERT_EQ(fy_h_publish(url, "v3/app1@ttn/devices/dev1/up", big, 1 << 20, 1), 0);
    free(big);
    /* ... and the next good message still goes through */
    FY_ASSERT_EQ(fy_h_publish(url, "v3/app1@ttn/devices/dev2/up", tts, strlen(tts), 1), 0);

    n = fy_h_consume(brokers, topic, 3, 60000, &m);
    FY_ASSERT_EQ(n, 3);
    if (n >= 2) {
        const struct fy_h_kmsg *a = find_key(m, n, "4200000000000000");
        const struct fy_h_kmsg *b = find_key(m, n, "0101010101010101");
        CU_ASSERT_PTR_NOT_NULL(a);
        CU_ASSERT_PTR_NOT_NULL(b);
        if (a != NULL) {
            check_envelope(a, "io.test.tts", "4200000000000000", 15);
        }
        if (b != NULL) {
            check_envelope(b, "io.test.cs", "0101010101010101", 1);
        }
    }
    fy_h_kmsgs_free(m, n);

    CU_ASSERT_TRUE(fy_h_wait_log(&h, "not valid JSON", 5000));
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "missing end_device_ids.device_id"));
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "chirpstack-v4: not valid JSON"));
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "payload of 1048576 bytes is over max_payload"));

    /* SIGTERM: flush, exit 0; the summary counts the dead letters */
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "4 dead letters"));
    /* the dead letters are listed with their reasons */
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' > '%s/dlq.txt' 2>&1", getenv("FERRY_BIN"),
                         h.config, h.dir), 0);
    FY_ASSERT_EQ(fy_h_sh("grep -q '4 dead letter' '%s/dlq.txt'", h.dir), 0);
    FY_ASSERT_EQ(fy_h_sh("grep -q 'over max_payload' '%s/dlq.txt'", h.dir), 0);
    free(tts);
    free(cs);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("e2e-formats", NULL, NULL);

    if (s == NULL || CU_add_test(s, "both formats to Kafka, bad input dead-lettered",
                                 test_formats_and_bad_input) == NULL) {
        return -1;
    }
    return 0;
}
