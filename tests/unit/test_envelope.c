/* test_envelope.c - the envelope's exact encoding (Microshare streaming format, key order)
 * and the stability of its id. */
#include "core/record.h"
#include "bridge/envelope.h"
#include "core/utf8.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

int init_envelope_tests(void);

static void make(struct fy_uplink *up, int64_t fcnt, const char *received, int rssi)
{
    static const unsigned char pl[] = {0x01, 0x02, 0xab};

    fy_uplink_init(up);
    snprintf(up->format, sizeof(up->format), "%s", "tts-v3");
    snprintf(up->event, sizeof(up->event), "%s", "up");
    snprintf(up->dev_eui, sizeof(up->dev_eui), "%s", "70b3d57ed0000001");
    snprintf(up->device_id, sizeof(up->device_id), "%s", "dev-1");
    snprintf(up->application_id, sizeof(up->application_id), "%s", "app");
    up->f_cnt = fcnt;
    up->f_port = 2;
    up->payload = malloc(3);
    memcpy(up->payload, pl, 3);
    up->payload_len = 3;
    snprintf(up->received_at, sizeof(up->received_at), "%s", received);
    up->radio = cJSON_CreateObject();
    cJSON_AddNumberToObject(up->radio, "rssi", rssi);
}

static void test_exact_json(void)
{
    struct fy_uplink up;
    struct fy_envelope env;
    struct fy_err err = {0};
    char expected[1024];

    make(&up, 7, "2026-11-24T10:00:00Z", -80);
    FY_ASSERT_OK(fy_envelope_build(&env, &up, NULL, "io.test", NULL, "ns", "raw", 3, &err),
                 &err);
    snprintf(expected, sizeof(expected),
             "{\"event_type\":\"create\",\"id\":\"%s\",\"obj\":{\"format\":\"tts-v3\","
             "\"event\":\"up\",\"devEUI\":\"70b3d57ed0000001\",\"deviceId\":\"dev-1\","
             "\"applicationId\":\"app\",\"fCnt\":7,\"fPort\":2,\"payload\":\"AQKr\","
             "\"payloadHex\":\"0102ab\",\"receivedAt\":\"2026-11-24T10:00:00Z\","
             "\"radio\":{\"rssi\":-80}},\"obj_type\":\"objs\",\"recType\":\"io.test\","
             "\"source\":\"ns\"}",
             env.id);
    FY_ASSERT_STR(env.json, expected);
    FY_ASSERT_EQ(env.len, strlen(expected));
    FY_ASSERT_STR(env.key, "70b3d57ed0000001");
    FY_ASSERT_EQ(strlen(env.id), 32);
    fy_envelope_clear(&env);
    fy_uplink_clear(&up);
}

static void test_id_stability(void)
{
    struct fy_uplink a, b;
    char ia[33], ib[33];

    /* same uplink, different feed metadata and receive time: same id */
    make(&a, 7, "2026-11-24T10:00:00Z", -80);
    make(&b, 7, "2026-11-24T10:00:03Z", -95);
    fy_envelope_id(&a, "io.test", "x", 1, ia);
    fy_envelope_id(&b, "io.test", "completely different raw", 24, ib);
    FY_ASSERT_STR(ia, ib);
    /* different fCnt, recType or payload: different id */
    fy_uplink_clear(&b);
    make(&b, 8, "2026-11-24T10:00:00Z", -80);
    fy_envelope_id(&b, "io.test", "x", 1, ib);
    CU_ASSERT_TRUE(strcmp(ia, ib) != 0);
    fy_envelope_id(&a, "io.other", "x", 1, ib);
    CU_ASSERT_TRUE(strcmp(ia, ib) != 0);
    fy_uplink_clear(&b);
    make(&b, 7, "2026-11-24T10:00:00Z", -80);
    b.payload[0] = 0x09;
    fy_envelope_id(&b, "io.test", "x", 1, ib);
    CU_ASSERT_TRUE(strcmp(ia, ib) != 0);
    /* non-uplink events hash the raw message */
    snprintf(b.event, sizeof(b.event), "%s", "join");
    fy_envelope_id(&b, "io.test", "raw-1", 5, ia);
    fy_envelope_id(&b, "io.test", "raw-2", 5, ib);
    CU_ASSERT_TRUE(strcmp(ia, ib) != 0);
    fy_uplink_clear(&a);
    fy_uplink_clear(&b);
}

static void test_record_roundtrip(void)
{
    struct fy_record r = {0}, d;
    struct fy_buf b;
    struct fy_err err = {0};
    size_t cut;

    r.id = "0123456789abcdef0123456789abcdef";
    r.key = "70b3d57ed0000001";
    r.rec_type = "io.test";
    r.event_type = "create";
    r.body = "{\"a\":1}";
    r.body_len = 7;
    r.created_ms = 1764000000123LL;
    r.n_dests = 2;
    r.dests[0].sink = "kafka";
    r.dests[0].dest = "topic-a";
    r.dests[1].sink = "hook";
    r.dests[1].dest = "";
    fy_buf_init(&b, 1 << 20);
    FY_ASSERT_OK(fy_record_encode(&r, &b), &err);
    FY_ASSERT_OK(fy_record_decode(b.data, b.len, &d, &err), &err);
    FY_ASSERT_STR(d.id, r.id);
    FY_ASSERT_STR(d.key, r.key);
    FY_ASSERT_EQ(d.body_len, 7);
    FY_ASSERT_EQ(memcmp(d.body, r.body, 7), 0);
    FY_ASSERT_EQ(d.created_ms, r.created_ms);
    FY_ASSERT_STR(fy_record_dest_for(&d, "kafka"), "topic-a");
    FY_ASSERT_STR(fy_record_dest_for(&d, "hook"), "");
    CU_ASSERT_PTR_NULL(fy_record_dest_for(&d, "other"));
    /* every truncation is rejected, never read out of bounds (ASan watches) */
    for (cut = 0; cut < b.len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        FY_ASSERT_EQ(fy_record_decode(copy, cut, &d, &err), FY_ECORRUPT);
        free(copy);
    }
    /* random bytes never crash */
    {
        unsigned seed = 1;
        int i;
        for (i = 0; i < 2000; i++) {
            unsigned char junk[64];
            size_t k, n = (size_t)(rand_r(&seed) % 64);
            for (k = 0; k < n; k++) {
                junk[k] = (unsigned char)rand_r(&seed);
            }
            if (n > 0) {
                junk[0] = 1;
            }
            (void)fy_record_decode(junk, n, &d, &err);
        }
    }
    fy_buf_free(&b);
}


/* A device_id with the bytes ff fe c0 af and a decoded string with a lone surrogate: the
 * envelope is valid UTF-8, each ill-formed sequence one U+FFFD, the key repaired too. */
static void test_invalid_utf8(void)
{
    struct fy_uplink up;
    struct fy_envelope env;
    struct fy_err err = {0};

    make(&up, 7, "2026-11-24T10:00:00Z", -80);
    up.dev_eui[0] = '\0'; /* key from applicationId/deviceId */
    snprintf(up.device_id, sizeof(up.device_id), "%s", "\xff\xfe\xc0\xaf");
    up.ns_decoded = cJSON_CreateObject();
    cJSON_AddStringToObject(up.ns_decoded, "t\xed\xa0\x80", "ok\xe2\x82");
    FY_ASSERT_OK(fy_envelope_build(&env, &up, NULL, "io.test", NULL, "ns", "raw", 3, &err),
                 &err);
    FY_ASSERT(fy_utf8_valid(env.json, env.len));
    FY_ASSERT(strstr(env.json, "\"deviceId\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                               "\xef\xbf\xbd\"") != NULL);
    FY_ASSERT(strstr(env.json, "\"t\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\":\"ok\xef\xbf\xbd\"") !=
              NULL);
    FY_ASSERT(fy_utf8_valid(env.key, strlen(env.key)));
    FY_ASSERT_STR(env.key, "app/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    fy_envelope_clear(&env);
    fy_uplink_clear(&up);
}

static void test_utf8(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},              /* overlong '/' */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong, 3 bytes */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"a\xe2\x82", "a\xef\xbf\xbd"},                           /* truncated: one U+FFFD */
        {"\xe2\x82z", "\xef\xbf\xbdz"},
        {"\x80", "\xef\xbf\xbd"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = fy_utf8_repair(cases[i].in);
        FY_ASSERT_STR(r, cases[i].out);
        FY_ASSERT_EQ(fy_utf8_valid(cases[i].in, strlen(cases[i].in)),
                     strcmp(cases[i].in, cases[i].out) == 0);
        free(r);
    }
}

int init_envelope_tests(void)
{
    CU_pSuite s = CU_add_suite("envelope", NULL, NULL);

    if (s == NULL || CU_add_test(s, "exact JSON", test_exact_json) == NULL ||
        CU_add_test(s, "id stability", test_id_stability) == NULL ||
        CU_add_test(s, "record encoding", test_record_roundtrip) == NULL ||
        CU_add_test(s, "invalid UTF-8 repaired", test_invalid_utf8) == NULL ||
        CU_add_test(s, "UTF-8 validation and repair", test_utf8) == NULL) {
        return -1;
    }
    return 0;
}
