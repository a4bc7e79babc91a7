/* test_formats.c - The Things Stack v3 and ChirpStack v4 parsers on real published messages
 * (tests/fixtures/uplinks, expected fields from the corpus README, not from Ferry), and bad
 * input of every kind: each is FY_EDECODE with a reason, never a crash. */
#include "codecs/codec.h"
#include "core/b64.h"
#include "core/file.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_formats_tests(void);

struct expect {
    const char *format, *file, *topic, *event;
    const char *device_id, *application_id, *dev_eui, *payload_hex;
    long long f_cnt;
    int f_port;
};

static const struct expect cases[] = {
    {"tts-v3", "tts-v3/docs-mqtt-uplink.json", "v3/app1@ttn/devices/dev1/up", "up", "dev1",
     "app1", "4200000000000000", "54656d7065726174757265203d20302e30", 0, 15},
    {"tts-v3", "tts-v3/docs-uplink-full.json", "v3/app1@ttn/devices/dev1/up", "up", "dev1",
     "app1", "0004a30b001c0530", "8241de", 1, -1},
    {"tts-v3", "tts-v3/real-humidr-lse01-fcnt1.json", "v3/x@ttn/devices/y/up", "up",
     "eui-a8404194a1875ff3", "soulmbengue-app-lorawansrv-1", "a8404194a1875ff3",
     "0d3a000000000bb0000010", 1, 2},
    {"tts-v3", "tts-v3/docs-mqtt-join.json", "v3/app1@ttn/devices/dev1/join", "join", "dev1",
     "app1", "4200000000000000", NULL, -1, -1},
    {"chirpstack-v4", "chirpstack-v4/docs-event-up.json",
     "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up", "up",
     "Test device", "17c82e96-be03-4f38-aef3-f83d48582d97", "0101010101010101", "aa", 0, 1},
    {"chirpstack-v4", "chirpstack-v4/real-tago-strega-as923.json",
     "application/0b652419-836c-4b00-87bd-bb16cf48f2ec/device/70b3d5770800030f/event/up", "up",
     "Floor 06", "0b652419-836c-4b00-87bd-bb16cf48f2ec", "70b3d5770800030f",
     "f03031333523ffffffff433030303635382343", 1291, 4},
    {"chirpstack-v4", "chirpstack-v4/docs-event-join.json",
     "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/join",
     "join", "Test device", "17c82e96-be03-4f38-aef3-f83d48582d97", "0101010101010101", NULL,
     -1, -1},
    {"chirpstack-v4", "chirpstack-v4/docs-event-status.json",
     "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/status",
     "status", "Test device", "17c82e96-be03-4f38-aef3-f83d48582d97", "0101010101010101", NULL,
     -1, -1},
    {"helium", "helium/docs-uplink.json", "helium/up", "up",
     "7c523974-4ce7-4a92-948b-55171a6e4d77", "6948A4B59F4666AD", "1c29fbd1d2084e21",
     "48656c6c6f2c20776f726c6421", 19, 1},
    {"loriot", "loriot/docs-uplink-basic.json", "loriot/up", "up", "", "", "0102030405060708",
     "0102aabb", 1, 1},
    {"loriot", "loriot/tb-netvox-r716s-loriot-payload_1.json", "loriot/up", "up", "", "",
     "1000000000000001", "8200000e1003", 2, 20},
    {"thingpark", "thingpark/real-tago-abeeway-uplink-numbers.json", "tp/up", "up", "", "",
     "20635f039100011e", "0e48548daa0011000000004384bf000000004385be000000004388bc0000000051e8bb",
     10448, 18},
    {"thingpark", "thingpark/docs-iotflow-join-request.json", "tp/up", "join", "", "",
     "0018b20000000b20", NULL, -1, -1},
    {"chirpstack-v3", "chirpstack-v3/tb-decentlab-dl-dws-chirpstack-payload_02.json",
     "application/123/device/0202020202020202/rx", "up", "garden-sensor", "123",
     "0202020202020202", "0203d400033bf67fff3bf60c60", 10, 5},
    {"chirpstack-v3", "chirpstack-v3/docs-up-protobuf-json.json",
     "application/123/device/0202020202020202/rx", "up", "garden-sensor", "123",
     "0202020202020202", NULL, -1, -1},
};

static char *slurp(const char *rel, size_t *len)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/uplinks/%s", FERRY_FIXTURES, rel);
    return fy_file_read(path, 1u << 20, len, NULL);
}

static void test_fixtures(void)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct expect *e = &cases[i];
        const struct fy_format_plugin *fp = fy_codec_format_find(e->format);
        struct fy_uplink up;
        struct fy_err err = {0};
        struct fy_msg msg = {"test", e->topic, NULL, 0, 1, 0};
        size_t len;
        char *text = slurp(e->file, &len);

        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
        msg.payload = text;
        msg.len = len;
        fy_uplink_init(&up);
        FY_ASSERT_OK(fp->decode(&msg, &up, &err), &err);
        FY_ASSERT_STR(up.event, e->event);
        FY_ASSERT_STR(up.device_id, e->device_id);
        FY_ASSERT_STR(up.application_id, e->application_id);
        FY_ASSERT_STR(up.dev_eui, e->dev_eui);
        if (e->payload_hex != NULL) {
            char hex[256];
            CU_ASSERT_PTR_NOT_NULL_FATAL(up.payload);
            fy_hex_encode(up.payload, up.payload_len, hex);
            FY_ASSERT_STR(hex, e->payload_hex);
            FY_ASSERT_EQ(up.f_cnt, e->f_cnt);
            if (e->f_port >= 0) {
                FY_ASSERT_EQ(up.f_port, e->f_port);
            }
            /* radio is compared field by field by the format kit (tests/conformance):
             * a message without radio fields has no radio object at all */
        }
        fy_uplink_clear(&up);
        free(text);
    }
}

static void expect_reject(const char *format, const char *topic, const void *p, size_t n,
                          const char *reason)
{
    const struct fy_format_plugin *fp = fy_codec_format_find(format);
    struct fy_msg msg = {"test", topic, p, n, 1, 0};
    struct fy_uplink up;
    struct fy_err err = {0};

    fy_uplink_init(&up);
    FY_ASSERT_EQ(fp->decode(&msg, &up, &err), FY_EDECODE);
    if (strstr(err.msg, reason) == NULL) {
        fprintf(stderr, "\n%s: expected '%s' in '%s'\n", format, reason, err.msg);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, reason));
    fy_uplink_clear(&up);
}

static void test_bad_input(void)
{
    static const unsigned char garbage[] = {0x00, 0xff, 0x7b, 0x22, 0x80, 0x00, 0x01};
    size_t len, i;
    char *cs = slurp("chirpstack-v4/docs-event-up.json", &len);
    char *tts;
    char *big = malloc(1 << 20);
    char *deep = malloc(20001);

    expect_reject("tts-v3", "v3/a/devices/d/up", "{\"end_device_ids\":", 18, "not valid JSON");
    expect_reject("tts-v3", "v3/a/devices/d/up", cs, len, "missing end_device_ids.device_id");
    expect_reject("chirpstack-v4", "application/a/device/b/event/up", garbage, sizeof(garbage),
                  "not valid JSON");
    expect_reject("tts-v3", "t", "", 0, "empty message");
    expect_reject("tts-v3", "t", "[1,2]", 5, "expected a JSON object");
    expect_reject("tts-v3", "t", "{} {}", 5, "trailing data");
    memset(big, 'x', 1 << 20);
    expect_reject("chirpstack-v4", "t", big, 1 << 20, "not valid JSON");
    for (i = 0; i < 10000; i++) {
        deep[i] = '[';
        deep[10000 + i] = ']';
    }
    expect_reject("tts-v3", "t", deep, 20000, "not valid JSON"); /* cJSON nesting limit */
    expect_reject("chirpstack-v4", "t",
                  "{\"deviceInfo\":{\"devEui\":\"xyz\"}}", strlen("{\"deviceInfo\":{\"devEui\":\"xyz\"}}"), "is not an EUI");
    expect_reject("chirpstack-v4", "application/a/device/b/event/up",
                  "{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"data\":\"@@@\"}",
                  strlen("{\"deviceInfo\":{\"devEui\":\"0101010101010101\"},\"data\":\"@@@\"}"),
                  "not valid base64");
    tts = slurp("tts-v3/docs-mqtt-uplink.json", &len);
    /* a wrong type deep inside */
    {
        char *p = strstr(tts, "\"f_port\": 15");
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        memcpy(p, "\"f_port\": []", 12);
        expect_reject("tts-v3", "v3/a/devices/d/up", tts, strlen(tts), "f_port must be a number");
    }
    free(tts);
    free(cs);
    free(big);
    free(deep);
}

int init_formats_tests(void)
{
    CU_pSuite s = CU_add_suite("formats", NULL, NULL);

    if (s == NULL || CU_add_test(s, "published samples", test_fixtures) == NULL ||
        CU_add_test(s, "bad input", test_bad_input) == NULL) {
        return -1;
    }
    return 0;
}
