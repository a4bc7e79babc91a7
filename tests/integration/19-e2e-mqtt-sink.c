/* 19-e2e-mqtt-sink.c - `ferry run` with the MQTT source reading v3/+/devices/+/up and the mqtt
 * sink publishing the envelopes to ferry/out/<run>/<devEUI> on the same mosquitto; a
 * libmosquitto subscriber (persistent session, QoS 1) counts them: 2,000 uplinks of 20
 * devices with 0 lost and per-device order, then 2,000 more with mosquitto restarted while
 * Ferry is still delivering them: 0 lost, duplicates counted. */
#include "tests/integration/harness.h"
#include "tests/integration/mqtt_sub.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int init_integration_tests(void);

static void oracle(struct fy_t_sub *sub, uint32_t per_device, const char *what, size_t *missing,
                   struct fy_h_oracle *o)
{
    pthread_mutex_lock(&sub->mu);
    *missing = fy_h_oracle_check(sub->msgs, sub->n, 20, 0, per_device, o);
    pthread_mutex_unlock(&sub->mu);
    printf("\n  %s: %zu received, %zu unique, %zu duplicates, %zu missing, %zu out of order, "
           "%zu foreign\n", what, o->received, o->unique, o->duplicates, *missing,
           o->order_violations, o->foreign);
}

static void test_mqtt_to_mqtt(void)
{
    const char *url, *brokers;
    const char *run = fy_h_unique("it-mqttsink");
    struct fy_h_ferry h;
    struct fy_h_oracle o;
    struct fy_t_sub sub;
    char yaml[4096], filter[256];
    size_t missing, at_restart;
    int i;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    snprintf(filter, sizeof(filter), "ferry/out/%s/#", run);
    CU_ASSERT_EQUAL_FATAL(fy_t_sub_start(&sub, url, filter, fy_h_unique("it-mqttsink-sub")), 0);
    snprintf(yaml, sizeof(yaml),
             "instance: ferry-test\n"
             "log_level: info\n"
             "journal:\n"
             "  dir: @DIR@/journal\n"
             "sources:\n"
             "  - name: ns\n"
             "    type: mqtt\n"
             "    url: %s\n"
             "    client_id: %s\n"
             "    reconnect_max_s: 2\n"
             "    topics:\n"
             "      - filter: v3/+/devices/+/up\n"
             "        qos: 1\n"
             "sinks:\n"
             "  - name: out\n"
             "    type: mqtt\n"
             "    url: %s\n"
             "    client_id: %s\n"
             "    max_inflight: 50\n"
             "    reconnect_max_s: 2\n"
             "routes:\n"
             "  - name: tts\n"
             "    match: v3/+/devices/+/up\n"
             "    format: tts-v3\n"
             "    recType: io.test.tts\n"
             "    sinks: [{sink: out, topic: \"ferry/out/%s/{devEUI}\"}]\n",
             url, fy_h_unique("it-mqttsink-src"), url, fy_h_unique("it-mqttsink-snk"), run);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "[sink:mqtt:out] connected to", 20000));

    /* 1: 2,000 uplinks of 20 devices, broker up all along */
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format tts --qos 1 --start 0"),
                 0);
    fy_t_sub_wait(&sub, 2000, fy_h_ms(60000), 1000);
    oracle(&sub, 100, "steady", &missing, &o);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.duplicates, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    FY_ASSERT_EQ(o.foreign, 0);

    /* 2: 2,000 more, and mosquitto restarted while Ferry is still delivering them: Ferry is
     * stopped (SIGSTOP) while they are published, so the broker queues them in its source's
     * session; once it runs again, the broker is restarted as soon as the first 100 of them
     * came out of the sink */
    FY_ASSERT_EQ(kill(h.pid, SIGSTOP), 0);
    FY_ASSERT_EQ(fy_h_loadgen(url, "--count 2000 --devices 20 --format tts --qos 1 --start 100"),
                 0);
    FY_ASSERT_EQ(kill(h.pid, SIGCONT), 0);
    for (i = 0; i < 20000 && fy_t_sub_count(&sub) < 2100; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    at_restart = fy_t_sub_count(&sub);
    FY_ASSERT_EQ(fy_h_services_do("mqtt-restart"), 0);
    printf("\n  mosquitto restarted with %zu of 4000 received\n", at_restart);
    CU_ASSERT_TRUE(at_restart < 4000);
    fy_t_sub_wait(&sub, 4000, fy_h_ms(120000), 3000);
    oracle(&sub, 200, "restart", &missing, &o);
    FY_ASSERT_EQ(missing, 0);
    FY_ASSERT_EQ(o.order_violations, 0);
    CU_ASSERT_TRUE(fy_h_log_contains(&h, "[sink:mqtt:out] connection to"));

    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    fy_t_sub_stop(&sub);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("e2e-mqtt-sink", NULL, NULL);

    if (s == NULL || CU_add_test(s, "MQTT in, MQTT out: 0 lost, order, broker restart",
                                 test_mqtt_to_mqtt) == NULL) {
        return -1;
    }
    return 0;
}
