/* sink-mqtt.c - the sink kit applied to the mqtt sink against the services mosquitto, with a
 * subscriber that checks every record arrived on the broker; a dead broker (RETRY, never
 * blocks), the secrets canary, and topics that are REJECT (empty, wildcard, over 65535 bytes).
 * max_inflight is small so back-pressure (FY_EAGAIN) is exercised. */
#include "core/clock.h"
#include "core/conf.h"
#include "core/log.h"
#include "tests/conformance/sink_kit.h"
#include "tests/integration/harness.h"
#include "tests/integration/mqtt_sub.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int init_integration_tests(void);

static const char *url;
static char base[128], live[1024], live311[1024], dead[512];

static int setup(void)
{
    const char *brokers;

    if (fy_h_services(&url, &brokers) != 0) {
        return -1;
    }
    snprintf(base, sizeof(base), "ferry/kit/%s", fy_h_unique("sink-mqtt"));
    snprintf(live, sizeof(live), "url: %s\ntopic: %s/v5/{recType}\nmax_inflight: 20\n"
             "client_id: %s\n", url, base, fy_h_unique("kit-sink"));
    snprintf(live311, sizeof(live311), "url: %s\ntopic: %s/v311/{recType}\nmax_inflight: 7\n"
             "protocol: 3.1.1\nclient_id: %s\n", url, base, fy_h_unique("kit-sink"));
    /* port 1 on loopback: nothing listens, connect is refused at once */
    snprintf(dead, sizeof(dead), "url: tcp://127.0.0.1:1\ntopic: t/{recType}\n"
             "ack_timeout_ms: 500\nusername: kit\n");
    return 0;
}

/* Every kit record n (0..count-1) was received at least once under topic prefix. */
static size_t missing_records(struct fy_t_sub *s, const char *prefix, int count)
{
    unsigned char *seen = calloc((size_t)count, 1);
    size_t i, missing = 0;
    int n;

    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n; i++) {
        const char *v = s->msgs[i].value != NULL ? strstr(s->msgs[i].value, "\"n\":") : NULL;
        if (v == NULL || strncmp(s->msgs[i].key, prefix, strlen(prefix)) != 0) {
            continue;
        }
        n = (int)strtol(v + 4, NULL, 10);
        if (n >= 0 && n < count) {
            seen[n] = 1;
        }
    }
    pthread_mutex_unlock(&s->mu);
    for (n = 0; n < count; n++) {
        missing += !seen[n];
    }
    free(seen);
    return missing;
}

static void live_run(const char *yaml, const char *sub_topic, int count)
{
    const struct fy_sink_kit k = {"mqtt", yaml, count, 60000, FY_SINK_OK, NULL};
    struct fy_t_sub sub;
    char filter[256], prefix[256];
    size_t missing;

    snprintf(filter, sizeof(filter), "%s/%s/#", base, sub_topic);
    snprintf(prefix, sizeof(prefix), "%s/%s/io.test.kit", base, sub_topic);
    CU_ASSERT_EQUAL_FATAL(fy_t_sub_start(&sub, url, filter, fy_h_unique("kit-sub")), 0);
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
    /* the kit delivers count records three times over (its checks a, b, c) */
    fy_t_sub_wait(&sub, (size_t)count, fy_h_ms(10000), 500);
    missing = missing_records(&sub, prefix, count);
    printf("\n  %s: %zu messages on the broker, %zu of %d records missing\n", sub_topic,
           fy_t_sub_count(&sub), missing, count);
    CU_ASSERT_EQUAL(missing, 0);
    fy_t_sub_stop(&sub);
}

static void test_live(void)
{
    live_run(live, "v5", 300);
}

static void test_live311(void)
{
    live_run(live311, "v311", 100);
}

static void test_dead(void)
{
    const struct fy_sink_kit k = {"mqtt", dead, 30, 15000, FY_SINK_RETRY, "not connected"};
    CU_ASSERT_EQUAL(fy_sink_kit_deliver(&k), 0);
}

static void test_options(void)
{
    const struct fy_sink_kit k = {"mqtt", live, 0, 0, FY_SINK_OK, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_option_errors(&k), 0);
}

static void test_secrets(void)
{
    const struct fy_sink_kit k = {"mqtt", dead, 0, 15000, FY_SINK_RETRY, NULL};
    CU_ASSERT_EQUAL(fy_sink_kit_secrets(&k), 0);
}

/* ==== topics that cannot be published to: REJECT with a reason ==== */

struct outcome {
    int n;
    enum fy_sink_result res;
    char reason[512];
};

static void on_done(void *arg, uint64_t ticket, enum fy_sink_result res, const char *reason)
{
    struct outcome *o = (struct outcome *)arg + ticket;

    o->n++;
    o->res = res;
    snprintf(o->reason, sizeof(o->reason), "%s", reason != NULL ? reason : "");
}

static void test_reject(void)
{
    static const char *const skip[] = {"name", "type", NULL};
    struct outcome o[4];
    struct fy_err err = {0};
    char yaml[1024], body[256], *longtopic;
    struct fy_record rec;
    struct fy_node *root;
    struct fy_sink *snk;
    int64_t deadline;
    int i, rc;

    memset(o, 0, sizeof(o));
    snprintf(yaml, sizeof(yaml), "name: rej\ntype: mqtt\nurl: %s\ntopic: %s/{devEUI}\n"
             "client_id: %s\n", url, base, fy_h_unique("kit-rej"));
    root = fy_conf_parse(yaml, strlen(yaml), "rej.yaml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    snk = fy_sink_create(fy_sink_plugin_find("mqtt"), "rej", root, skip, 0, on_done, o, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(snk);
    memset(&rec, 0, sizeof(rec));
    rec.id = "rej-1";
    rec.rec_type = "io.test.kit";
    rec.body = body;
    rec.body_len = (size_t)snprintf(body, sizeof(body), "{\"id\":\"rej-1\",\"obj\":{\"n\":1}}");
    longtopic = malloc(70000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(longtopic);
    memset(longtopic, 'a', 69999);
    longtopic[69999] = '\0';
    /* 0: {devEUI} missing from the envelope; 1: '+' in the route's topic; 2: '#'; 3: too long */
    for (i = 0; i < 4; i++) {
        const char *dest = i == 0 ? "" : i == 1 ? "a/+/b" : i == 2 ? "a/#" : longtopic;
        rc = fy_sink_submit(snk, &rec, dest, (uint64_t)i);
        CU_ASSERT_EQUAL(rc, FY_OK);
    }
    deadline = fy_clock_mono_ms() + 5000;
    while (fy_clock_mono_ms() < deadline && (o[0].n + o[1].n + o[2].n + o[3].n) < 4) {
        fy_sink_poll(snk, 50);
    }
    for (i = 0; i < 4; i++) {
        printf("\n  reject %d: %d completion(s), %s", i, o[i].n, o[i].reason);
        CU_ASSERT_EQUAL(o[i].n, 1);
        CU_ASSERT_EQUAL(o[i].res, FY_SINK_REJECT);
        CU_ASSERT_TRUE(o[i].reason[0] != '\0');
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(o[0].reason, "devEUI"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o[1].reason, "wildcard"));
    CU_ASSERT_PTR_NOT_NULL(strstr(o[3].reason, "65535"));
    CU_ASSERT_EQUAL(fy_sink_drain(snk, 5000), FY_OK);
    fy_sink_destroy(snk);
    fy_conf_free(root);
    free(longtopic);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-sink-mqtt", setup, NULL);

    fy_log_setup(FY_LOG_WARN, NULL);
    if (s == NULL || CU_add_test(s, "real broker MQTT 5: once each, EAGAIN, drain, all "
                                 "received", test_live) == NULL ||
        CU_add_test(s, "real broker MQTT 3.1.1: once each, all received", test_live311) == NULL ||
        CU_add_test(s, "dead broker: RETRY after the bounded wait, never blocks",
                    test_dead) == NULL ||
        CU_add_test(s, "option errors with FILE:LINE:COL", test_options) == NULL ||
        CU_add_test(s, "secrets canary", test_secrets) == NULL ||
        CU_add_test(s, "unpublishable topics are REJECT with a reason", test_reject) == NULL) {
        return -1;
    }
    return 0;
}
