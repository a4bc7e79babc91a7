/* 15-secrets-canary.c - docs/reliability.md, "Secrets" (battery row sec 29): a canary secret placed in
 * every secret option of the webhook sink (a bearer header from ${ENV}, a Basic password, an
 * OAuth2 client secret from ${file:}, a signing secret) while Ferry runs for real against the
 * HTTPS test server and fails in every way that produces log lines and dead letters
 * (token endpoint refusing the client, 400s, 500s), plus the MQTT source's password and a
 * webhook URL with the secret in its query string (`?token=`, the shape the seeds use).
 * Afterwards the canary must appear in none of: Ferry's log, `/status`, `/metrics` and
 * `ferry status` (read while it runs), `ferry dlq list` and `ferry dlq show`, `ferry journal
 * stat`, and `ferry check` on a file where the secret lands in a value that is wrong. */
#include "tests/integration/harness.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int init_integration_tests(void);

#define CANARY "cAnArY-7f3e19d2"

/* Count the canary in a file. */
static int hits(const char *path)
{
    return fy_h_sh("grep -c '%s' '%s' >/dev/null 2>&1", CANARY, path) == 0 ? 1 : 0;
}

static void test_canary(void)
{
    const char *url, *brokers;
    char dir[128], yaml[4096], out[400], topic[160];
    struct fy_h_ferry h;
    int port = 0, i, admin = fy_h_free_port();
    pid_t srv = 0;
    FILE *f;

    CU_ASSERT_EQUAL_FATAL(fy_h_services(&url, &brokers), 0);
    CU_ASSERT_EQUAL_FATAL(fy_h_https_start(dir, sizeof(dir), &port, &srv), 0);
    setenv("FERRY_TEST_CANARY_TOKEN", CANARY "-env", 1);
    snprintf(yaml, sizeof(yaml),
             "journal: {dir: \"@DIR@/journal\"}\n"
             "log_level: debug\n"
             "admin: {listen: \"127.0.0.1:%d\"}\n"
             "sources:\n"
             "  - {name: ns, type: mqtt, url: \"%s\", client_id: \"%s\",\n"
             "     username: ferry, password: \"" CANARY "-mqtt\",\n"
             "     topics: [\"v3/+/devices/+/up\"]}\n"
             "sinks:\n"
             "  - {name: query, type: webhook,\n"
             "     url: \"https://127.0.0.1:%d/fail500/1000?token=" CANARY "-query&x=1\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     retry: {backoff_base_ms: 50, backoff_max_ms: 100, max_attempts: 3}}\n"
             "  - {name: bearer, type: webhook, url: \"https://127.0.0.1:%d/bad400\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     headers.Authorization: \"Bearer ${FERRY_TEST_CANARY_TOKEN}\",\n"
             "     signing_secret: \"whsec_" CANARY "AAAAAAAAAAAAAAAA\"}\n"
             "  - {name: basic, type: webhook, url: \"https://127.0.0.1:%d/fail500/1000\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     auth: basic, username: ferry, password: \"" CANARY "-basic\",\n"
             "     retry: {backoff_base_ms: 50, backoff_max_ms: 100, max_attempts: 3}}\n"
             "  - {name: oauth, type: webhook, url: \"https://127.0.0.1:%d/protected/x\",\n"
             "     ca_file: \"%s/cert.pem\", allow_private_networks: true,\n"
             "     auth: oauth2_client_credentials, token_url: \"https://127.0.0.1:%d/token\",\n"
             "     client_id: ferry, client_secret: \"${file:@DIR@/client.secret}\",\n"
             "     retry: {backoff_base_ms: 50, backoff_max_ms: 100, max_attempts: 3}}\n"
             "routes:\n"
             "  - {match: \"v3/+/devices/+/up\", format: tts-v3, recType: io.test,\n"
             "     sinks: [query, bearer, basic, oauth]}\n",
             admin, url, fy_h_unique("it-canary"), port, dir, port, dir, port, dir, port, dir,
             port);
    /* the ${file:} secret must exist before start: write it into the dir Ferry will use */
    memset(&h, 0, sizeof(h));
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_prepare(&h, yaml), 0);
    snprintf(out, sizeof(out), "%s/client.secret", h.dir);
    f = fopen(out, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(CANARY "-file\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(fy_h_ferry_restart(&h), 0);
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "subscribed to 1 filter(s)", 20000));
    snprintf(topic, sizeof(topic), "v3/app/devices/dev%d/up", 1);
    for (i = 0; i < 3; i++) {
        char msg[400];
        snprintf(msg, sizeof(msg), "{\"end_device_ids\":{\"device_id\":\"dev1\",\"dev_eui\":"
                 "\"00000000000000%02d\",\"application_ids\":{\"application_id\":\"app\"}},"
                 "\"uplink_message\":{\"f_port\":1,\"f_cnt\":%d,\"frm_payload\":\"AQ==\"}}",
                 i, i);
        FY_ASSERT_EQ(fy_h_publish(url, topic, msg, strlen(msg), 1), 0);
    }
    /* every failure path has happened: 400 dead letters, 500s expired, token refused */
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "invalid_client", 20000));
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "HTTP 400", 20000));
    CU_ASSERT_TRUE(fy_h_wait_log(&h, "expired after 3 attempt", 20000));
    /* what the daemon shows while it runs: its sinks' URLs, reasons and counters */
    snprintf(out, sizeof(out), "%s/status.json", h.dir);
    /* the URL is there once the query sink has failed at least once: the log lines waited
     * for above may all come from the other sinks (the basic sink expires after 3 attempts
     * too), so wait for the query sink's last_error itself */
    for (i = 0; i < 200; i++) {
        FY_ASSERT_EQ(fy_h_sh("curl -sf http://127.0.0.1:%d/status > '%s'", admin, out), 0);
        if (fy_h_sh("grep -q '/fail500/1000' '%s'", out) == 0) {
            break;
        }
        usleep(100 * 1000);
    }
    CU_ASSERT_TRUE(fy_h_sh("grep -q '/fail500/1000' '%s'", out) == 0);
    FY_ASSERT_EQ(hits(out), 0);
    snprintf(out, sizeof(out), "%s/metrics.txt", h.dir);
    FY_ASSERT_EQ(fy_h_sh("curl -sf http://127.0.0.1:%d/metrics > '%s'", admin, out), 0);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'ferry_sink' '%s'", out) == 0);
    FY_ASSERT_EQ(hits(out), 0);
    snprintf(out, sizeof(out), "%s/cli.out", h.dir);
    fy_h_sh("'%s' status -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config, out);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'query' '%s'", out) == 0);
    FY_ASSERT_EQ(hits(out), 0);
    fy_h_sh("'%s' status --json -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config, out);
    FY_ASSERT_EQ(hits(out), 0);
    FY_ASSERT_EQ(fy_h_ferry_stop(&h, SIGTERM, 20000), 0);

    FY_ASSERT_EQ(hits(h.log), 0);
    snprintf(out, sizeof(out), "%s/cli.out", h.dir);
    FY_ASSERT_EQ(fy_h_sh("'%s' dlq list -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config,
                         out), 0);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'HTTP 400' '%s'", out) == 0); /* the list is not empty */
    FY_ASSERT_EQ(hits(out), 0);
    for (i = 1; i <= 3; i++) {
        fy_h_sh("'%s' dlq show -c '%s' %d > '%s' 2>&1", getenv("FERRY_BIN"), h.config, i, out);
        FY_ASSERT_EQ(hits(out), 0);
    }
    fy_h_sh("'%s' journal stat -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), h.config, out);
    FY_ASSERT_EQ(hits(out), 0);
    /* a secret in a value that is wrong: the error names the key, not the value */
    snprintf(yaml, sizeof(yaml), "%s/bad.yaml", h.dir);
    f = fopen(yaml, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("max_payload: ${FERRY_TEST_CANARY_TOKEN}\nsources: []\nsinks: []\nroutes: []\n", f);
    fclose(f);
    FY_ASSERT_EQ(fy_h_sh("'%s' check -c '%s' > '%s' 2>&1", getenv("FERRY_BIN"), yaml, out), 2);
    CU_ASSERT_TRUE(fy_h_sh("grep -q 'max_payload' '%s'", out) == 0);
    FY_ASSERT_EQ(hits(out), 0);
    fy_h_https_stop(dir, srv);
    fy_h_ferry_cleanup(&h);
}

int init_integration_tests(void)
{
    CU_pSuite s = CU_add_suite("secrets-canary", NULL, NULL);

    if (s == NULL || CU_add_test(s, "no secret in logs, dead letters, CLI output",
                                 test_canary) == NULL) {
        return -1;
    }
    return 0;
}
