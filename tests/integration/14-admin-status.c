/* 14-admin-status.c - the admin endpoint and `ferry status` on a real daemon: an MQTT source
 * and two webhook sinks against the HTTPS test server, one healthy, one answering 500 twelve
 * times (disable_after 2, probes every 400 ms). While the second is disabled: /status says so
 * with its failures and last error, /metrics has it as a well-formed Prometheus gauge,
 * `ferry status` exits 1 naming it; the healthy sink delivers everything meanwhile. After the
 * server recovers: the sink is healthy, every record delivered, `ferry status` exits 0. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int init_integration_tests(void);

/* GET http://127.0.0.1:port/path into file out; returns the HTTP status (0 on failure). */
static int get(int port, const char *path, const char *out, const char *method)
{
    char cmd[600], code[16] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd), "curl -s -o '%s' -w '%%{http_code}' -X %s "
             "http://127.0.0.1:%d%s", out, method, port, path);
    p = popen(cmd, "r");
    if (p == NULL) {
        return 0;
    }
    if (fgets(code, sizeof(code), p) == NULL) {
        code[0] = '\0';
    }
    pclose(p);
    return (int)strtol(code, NULL, 10);
}

static cJSON *status(int port, const char *tmp)
{
    char *txt;
    long n;
    FILE *f;
    cJSON *j;

    if (get(port, "/status", tmp, "GET") != 200 || (f = fopen(tmp, "r")) == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    txt = calloc(1, (size_t)n + 1);
    if (fread(txt, 1, (size_t)n, f) != (size_t)n) {
        n = 0;
    }
    fclose(f);
    j = cJSON_ParseWithLength(txt, (size_t)n);
    free(txt);
    return j;
}

static const cJSON *sink(const cJSON *st, const char *name)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, cJSON_GetObjectItem(st, "sinks"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), name) == 0) {
            return it;
        }
    }
    return NULL;
}

static const char *field(const cJSON *st, const char *name, const char *key)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(sink(st, name), key));
    return v != NULL ? v : "";
}

static double count(const cJSON *st, const char *name, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(sink(st, name), key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Every sample line's metric has a # TYPE line before it; 1 if so. */
static int metrics_well_formed(const char *path)
{
    char line[1024], typed[64][96];
    size_t n = 0, i;
    int ok = 1, samples = 0;
    FILE *f = fopen(path, "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char name[96];
        if (strncmp(line, "# TYPE ", 7) == 0 && n < 64) {
            sscanf(line + 7, "%95s", typed[n++]);
        } else if (line[0] != '#' && sscanf(line, "%95[a-z_]", name) == 1) {
            int found = 0;
            for (i = 0; i < n; i++) {
                found |= strcmp(typed[i], name) == 0;
            }
            if (!found) {
                fprintf(stderr, "\nsample without TYPE: %s", line);
            }
            ok &= found;
            samples++;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return ok && samples > 10;
}


/* While n idle connections are held open (connected, nothing sent: a scraper gone quiet or an
 * attacker), a burst of 300 parallel requests must each get an answer within 10 s. Returns
 * how many got 200. */
static int burst_with_idle(int port, const char *dir, int n_idle)
{
    struct sockaddr_in sa;
    int fds[128], i, n = 0;
    char cfg[300], res[300];
    FILE *f;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < n_idle && i < 128; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    usleep(200000); /* let the server accept them all */
    snprintf(cfg, sizeof(cfg), "%s/burst.cfg", dir);
    snprintf(res, sizeof(res), "%s/burst.out", dir);
    f = fopen(cfg, "w");
    if (f != NULL) {
        for (i = 0; i < 300; i++) {
            fprintf(f, "url = \"http://127.0.0.1:%d/healthz\"\noutput = /dev/null\n", port);
        }
        fclose(f);
    }
    fy_h_sh("curl -s --parallel --parallel-max 300 --max-time 10 -w '%%{http_code}\\n' "
            "-K '%s' > '%s' 2>/dev/null", cfg, res);
    f = fopen(res, "r");
    if (f != NULL) {
        char line[32];
        while (fgets(line, sizeof(line), f) != NULL) {
            n += strncmp(line, "200", 3) == 0;
        }
        fclose(f);
    }
    for (i = 0; i < n_idle && i < 128; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
        }
    }
    return n;
}

static void test_admin_status(void)
{
    const char *url, *brokers;
    char dir[128], yaml[4096], tmp[300], out[300];
    struct fy_h_ferry h;
    cJSON *st = NULL;
    int port = 0, admin = fy_h_free_port(), i, rc, seen_disabled = 0;
    pid_t srv = 0;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_https_start(dir, sizeof(dir), &port, &srv), 0);
    snprintf(yaml, sizeof(yaml),
             "journal: {dir: \"@DIR@/journal\"}\n"
             "admin: {listen: \"127.0.0.1:%d\"}\n"
             "sources:\n"
             "  - {name: ns, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     topics: [\"v3/+/devices/+/up\"]}\n"
             "sinks:\n"
             "  - {name: good, type: webhook, url: \"https://127.0.0.1:%d/ok/admin\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     batch_max_wait_ms: 50}\n"
             "  - {name: flaky, type: webhook, url: \"https://127.0.0.1:%d/fail500/12\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     batch_max_wait_ms: 50,\n"
             "     retry: {backoff_base_ms: 50, backoff_max_ms: 100},\n"
             "     health: {disable_after: 2, probe_interval_ms: 400}}\n"
             "routes:\n"
             "  - {match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.test,\n"
             "     sinks: [good, flaky]}\n",
             admin, url, fy_h_unique("it-admin"), port, dir, port, dir);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_start(&h, yaml), 0);
    /* "running:" comes before the MQTT subscription: a message published earlier is lost */
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    snprintf(tmp, sizeof(tmp), "%s/page", h.dir);
    snprintf(out, sizeof(out), "%s/status.out", h.dir);
    FY_ASSERT_EQ(get(admin, "/healthz", tmp, "GET"), 200);
    FY_ASSERT_EQ(get(admin, "/nope", tmp, "GET"), 404);
    FY_ASSERT_EQ(get(admin, "/status", tmp, "POST"), 405);
    for (i = 0; i < 5; i++) {
        char msg[400];
        snprintf(msg, sizeof(msg), "{\"end_device_ids\":{\"device_id\":\"dev1\",\"dev_eui\":"
                 "\"00000000000000%02d\",\"application_ids\":{\"application_id\":\"app\"}},"
                 "\"uplink_message\":{\"f_port\":1,\"f_cnt\":%d,\"frm_payload\":\"AQ==\"}}",
                 i, i);
        FY_ASSERT_EQ(fy_h_publish(url, "v3/app/devices/dev1/up", msg, strlen(msg), 1), 0);
    }
    /* the flaky sink gets disabled; meanwhile the good one delivers everything */
    for (i = 0; i < fy_h_ms(15000) / 100 && !seen_disabled; i++) {
        cJSON_Delete(st);
        st = status(admin, tmp);
        seen_disabled = st != NULL && strcmp(field(st, "flaky", "health"), "disabled") == 0;
        if (!seen_disabled) {
            usleep(100000);
        }
    }
    CU_ASSERT_TRUE(seen_disabled);
    if (!seen_disabled) {
        goto done; /* stop Ferry and the server: never leave them running */
    }
    CU_ASSERT_TRUE(count(st, "flaky", "failures") >= 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(field(st, "flaky", "last_error"), "HTTP 500"));
    CU_ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(sink(st, "flaky"), "next_attempt")));
    FY_ASSERT_STR(field(st, "good", "health"), "healthy");
    FY_ASSERT_STR(field(st, "good", "type"), "webhook");
    FY_ASSERT_EQ(count(st, "flaky", "delivered"), 0);
    cJSON_Delete(st);
    st = NULL;
    FY_ASSERT_EQ(get(admin, "/metrics", tmp, "GET"), 200);
    CU_ASSERT_TRUE(metrics_well_formed(tmp));
    CU_ASSERT_TRUE(fy_h_sh("grep -q '^ferry_sink_health{sink=\"flaky\",type=\"webhook\","
                           "state=\"disabled\"} 1$' '%s'", tmp) == 0);
    CU_ASSERT_TRUE(fy_h_sh("grep -q '^ferry_ingest_received_total 5$' '%s'", tmp) == 0);
    rc = fy_h_sh("'%s' status -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config, out);
    FY_ASSERT_EQ(rc, 1);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'flaky is disabled' '%s'", out) == 0);

    /* the server recovers after 12 failures: healthy again, everything delivered */
    for (i = 0; i < fy_h_ms(20000) / 100; i++) {
        cJSON_Delete(st);
        st = status(admin, tmp);
        if (st != NULL && count(st, "flaky", "delivered") == 5 &&
            count(st, "good", "delivered") == 5) {
            break;
        }
        usleep(100000);
    }
    FY_ASSERT_EQ(count(st, "flaky", "delivered"), 5);
    FY_ASSERT_EQ(count(st, "good", "delivered"), 5);
    FY_ASSERT_STR(field(st, "flaky", "health"), "healthy");
    rc = fy_h_sh("'%s' status -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config, out);
    FY_ASSERT_EQ(rc, 0);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'healthy' '%s'", out) == 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "healthy again", 1000));
    /* 100 idle connections never starve probes and scrapes (issue 15: 6 of 1,000 unanswered) */
    FY_ASSERT_EQ(burst_with_idle(admin, h.dir, 100), 300);
done:
    cJSON_Delete(st);
    st = NULL;
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);
    /* nothing listening: exit 3 with the address */
    rc = fy_h_sh("'%s' status --admin 127.0.0.1:%d > '%s' 2>&1", getenv("FERRY_BIN"), admin,
                 out);
    FY_ASSERT_EQ(rc, 3);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'cannot reach' '%s'", out) == 0);
    fy_h_https_stop(dir, srv);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("admin-status", NULL, NULL);

    if (s == NULL || CU_add_test(s, "/status, /metrics, ferry status with a disabled sink",
                                 test_admin_status) == NULL) {
        return -1;
    }
    return 0;
}
