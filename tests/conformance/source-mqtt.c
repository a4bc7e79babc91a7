/* source-mqtt.c - the source kit applied to the mqtt source against the services mosquitto
 * (persistence on): QoS 1, clean_session false (the default) and a client id unique to this
 * run, so each new instance resumes the same broker-side session; mosquitto restarted through
 * the harness for the reconnect check. */
#include "core/log.h"
#include "tests/conformance/source_kit.h"
#include "tests/integration/harness.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

static const char *url;
static char topic[128], client_id[128], yaml[1024];

static int publish(void *arg, int id)
{
    char payload[64];
    size_t len = fy_source_kit_payload(id, payload, sizeof(payload));

    (void)arg;
    return fy_h_publish(url, topic, payload, len, 1);
}

static int restart_mosquitto(void *arg)
{
    (void)arg;
    return fy_h_services_do("mqtt-restart");
}

static int setup(void)
{
    const char *brokers;

    if (fy_h_services(&url, &brokers) != 0) {
        return -1;
    }
    snprintf(topic, sizeof(topic), "ferry/kit/%s", fy_h_unique("source-mqtt"));
    /* reconnect_max_s: Paho's automatic reconnect comes back within 2 s of the restart */
    snprintf(client_id, sizeof(client_id), "%s", fy_h_unique("kit-src"));
    snprintf(yaml, sizeof(yaml), "url: %s\nclient_id: %s\nreconnect_max_s: 2\ntopics:\n"
             "  - filter: %s\n    qos: 1\n", url, client_id, topic);
    return 0;
}

static struct fy_source_kit kit(void)
{
    struct fy_source_kit k = {"mqtt", yaml, publish, NULL, 40, 15000, restart_mosquitto, 0};
    return k;
}

static void test_options(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_option_errors(&k), 0);
}

static void test_deliver(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_deliver(&k), 0);
}

static void test_pause(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_pause(&k), 0);
}

static void test_reconnect(void)
{
    struct fy_source_kit k = kit();
    CU_ASSERT_EQUAL(fy_source_kit_reconnect(&k), 0);
}

static void test_ack(void)
{
    struct fy_source_kit k = kit();

    /* FY_EIO: the waiting callback holds Paho's one lock; on stop it shuts its socket down
     * before returning, so the new instance (same process, same session) gets the message
     * again (docs/reliability.md, "MQTT source: acknowledge after the journal write"). */
    CU_ASSERT_EQUAL(fy_source_kit_ack(&k), 0);
}

/* Not a kit check: what the broker still holds for the kit's session, read by mosquitto_sub
 * taking the session over from another process. After the FY_EIO check a message the source
 * never stored must be here (unacknowledged, so not lost) unless a new instance already got
 * it; a message the kit stored must not be. */
static void test_session_left(void)
{
    char host[200], out[] = "/tmp/ferry-kit-sub-XXXXXX", line[256];
    int port = 1883, fd, held = 0, foreign = 0;
    FILE *f;

    CU_ASSERT_FATAL(sscanf(url, "tcp://%199[^:]:%d", host, &port) >= 1);
    fd = mkstemp(out);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    fy_h_sh("mosquitto_sub -h '%s' -p %d -V 5 -c -x 60 -i '%s' -q 1 -t '%s' -W 3 > '%s' "
            "2>/dev/null", host, port, client_id, topic, out);
    f = fopen(out, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "\"kit\":\"source\"") != NULL) {
            if (held++ == 0) {
                fprintf(stderr, "\n  source-mqtt: the session still held %s", line);
            }
        } else {
            foreign++;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    unlink(out);
    /* then drop the session (a clean connect with its id), so the broker keeps nothing */
    fy_h_sh("mosquitto_sub -h '%s' -p %d -i '%s' -t '%s' -E -W 5 >/dev/null 2>&1", host, port,
            client_id, topic);
    fprintf(stderr, "\n  source-mqtt: %d unacknowledged kit message(s) left in the broker "
            "session\n", held);
    CU_ASSERT_EQUAL(foreign, 0);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-source-mqtt", setup, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    /* ack last: if its FY_EIO variant left the plugin stuck, the earlier checks still ran */
    if (s == NULL || CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "every message once; start/stop/start; no emit after stop",
                    test_deliver) == NULL ||
        CU_add_test(s, "pause: no emit; resume: all arrive", test_pause) == NULL ||
        CU_add_test(s, "mosquitto restarted: reconnects by itself", test_reconnect) == NULL ||
        CU_add_test(s, "ack only after FY_OK: FY_EAGAIN retried, FY_EIO redelivered",
                    test_ack) == NULL ||
        CU_add_test(s, "what the broker session still holds", test_session_left) == NULL) {
        return -1;
    }
    return 0;
}
