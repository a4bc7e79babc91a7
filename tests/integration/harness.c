/* harness.c - see harness.h. */
#include "tests/integration/harness.h"
#include "core/clock.h"

#include <cjson/cJSON.h>

#include <arpa/inet.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char mqtt_url[256];
static char kafka_brokers[256];

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int fy_h_ms(int ms)
{
    const char *m = getenv("FERRY_TEST_TIMEOUT_MULTIPLIER");
    double f = m != NULL ? strtod(m, NULL) : 1.0;

    return f > 0 ? (int)(ms * f) : ms;
}

int fy_h_services(const char **mqtt, const char **kafka)
{
    const char *u = getenv("FERRY_MQTT_URL"), *k = getenv("FERRY_KAFKA_BROKERS");
    const char *dir = getenv("FERRY_SERVICES_DIR");

    if ((u == NULL || k == NULL) && dir != NULL) {
        char path[512], line[1024];
        FILE *f;
        snprintf(path, sizeof(path), "%s/env", dir);
        f = fopen(path, "r");
        if (f != NULL) {
            if (fgets(line, sizeof(line), f) != NULL) {
                char *p = strstr(line, "FERRY_MQTT_URL="), *q = strstr(line, "FERRY_KAFKA_BROKERS=");
                if (p != NULL && q != NULL) {
                    sscanf(p + 15, "%255s", mqtt_url);
                    sscanf(q + 20, "%255s", kafka_brokers);
                    u = mqtt_url;
                    k = kafka_brokers;
                }
            }
            fclose(f);
        }
    }
    if (u == NULL || k == NULL) {
        fprintf(stderr, "harness: services not running (scripts/services up)\n");
        return -1;
    }
    if (u != mqtt_url) {
        snprintf(mqtt_url, sizeof(mqtt_url), "%s", u);
        snprintf(kafka_brokers, sizeof(kafka_brokers), "%s", k);
    }
    *mqtt = mqtt_url;
    *kafka = kafka_brokers;
    return 0;
}

int fy_h_aws(const char **endpoint, const char **auth_endpoint, const char **python)
{
    static char ep[256], aep[256], py[512];
    const char *e = getenv("FERRY_AWS_ENDPOINT"), *a = getenv("FERRY_AWS_AUTH_ENDPOINT");
    const char *p = getenv("FERRY_AWS_PYTHON"), *dir = getenv("FERRY_SERVICES_DIR");

    if ((e == NULL || a == NULL || p == NULL) && dir != NULL) {
        char path[512], line[2048];
        FILE *f;
        snprintf(path, sizeof(path), "%s/env", dir);
        if ((f = fopen(path, "r")) != NULL) {
            while (fgets(line, sizeof(line), f) != NULL) {
                char *x = strstr(line, "FERRY_AWS_ENDPOINT="), *y = strstr(line,
                                                                          "FERRY_AWS_AUTH_ENDPOINT=");
                char *z = strstr(line, "FERRY_AWS_PYTHON=");
                if (x != NULL && y != NULL && z != NULL) {
                    sscanf(x + 19, "%255s", ep);
                    sscanf(y + 24, "%255s", aep);
                    sscanf(z + 17, "%511s", py);
                    e = ep;
                    a = aep;
                    p = py;
                }
            }
            fclose(f);
        }
    }
    if (e == NULL || a == NULL || p == NULL) {
        fprintf(stderr, "harness: AWS (moto) not running (scripts/services aws-up)\n");
        return -1;
    }
    *endpoint = e;
    *auth_endpoint = a;
    *python = p;
    return 0;
}

char *fy_h_aws_tool(const char *endpoint, int *status, const char *fmt, ...)
{
    const char *e, *a, *py;
    char args[2048], cmd[4096];
    char *out = NULL;
    size_t len = 0, cap = 0;
    va_list ap;
    FILE *p;
    int st;

    *status = -1;
    if (fy_h_aws(&e, &a, &py) != 0) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/support/aws_tool.py' --endpoint '%s' %s", py,
             getenv("FERRY_SOURCE_DIR"), endpoint, args);
    if ((p = popen(cmd, "r")) == NULL) {
        return NULL;
    }
    for (;;) {
        size_t n;
        if (cap - len < 65536) {
            char *m = realloc(out, cap + 1048576);
            if (m == NULL) {
                break;
            }
            out = m;
            cap += 1048576;
        }
        n = fread(out + len, 1, cap - len - 1, p);
        if (n == 0) {
            break;
        }
        len += n;
    }
    st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (out != NULL) {
        out[len] = '\0';
    }
    return out;
}

int fy_h_aws_key(char *id, size_t id_size, char *secret, size_t secret_size)
{
    const char *e, *a, *py, *dir = getenv("FERRY_SERVICES_DIR");
    char path[600], a_id[128], a_secret[128];
    FILE *f;
    int ok = 0;

    if (fy_h_aws(&e, &a, &py) != 0 || dir == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/aws-auth.key", dir);
    if ((f = fopen(path, "r")) == NULL) {
        int st;
        char *out = fy_h_aws_tool(a, &st, "iam-key");
        if (out == NULL || st != 0 || (f = fopen(path, "w")) == NULL) {
            fprintf(stderr, "harness: iam-key failed: %s\n", out != NULL ? out : "");
            free(out);
            return -1;
        }
        fputs(out, f);
        fclose(f);
        free(out);
        f = fopen(path, "r");
    }
    ok = f != NULL && fscanf(f, "%127s %127s", a_id, a_secret) == 2;
    if (ok) {
        snprintf(id, id_size, "%s", a_id);
        snprintf(secret, secret_size, "%s", a_secret);
    }
    if (f != NULL) {
        fclose(f);
    }
    return ok ? 0 : -1;
}

int fy_h_free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

const char *fy_h_unique(const char *prefix)
{
    static char buf[8][128];
    static int n;
    char *b = buf[n++ % 8];

    snprintf(b, 128, "%s-%d-%d-%lld", prefix, (int)getpid(), n, (long long)(fy_clock_mono_ms() % 100000));
    return b;
}

int fy_h_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ==== ferry process ==== */

/* env: NULL, or "NAME=value" strings set in the child only. An LD_PRELOAD among them also
 * tells ASan (when Ferry has it) that a library loads before its runtime, on purpose. */
static int spawn_env(struct fy_h_ferry *h, const char *const *env)
{
    const char *bin = getenv("FERRY_BIN");
    pid_t pid;

    if (bin == NULL) {
        fprintf(stderr, "harness: FERRY_BIN not set\n");
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        /* stdout too: a Ferry left running by a failed test must not hold ctest's pipe
         * (ctest would wait for it until the test's time-out) */
        FILE *f = freopen(h->log, "a", stderr);
        FILE *o = freopen("/dev/null", "w", stdout);
        (void)f;
        (void)o;
        for (; env != NULL && *env != NULL; env++) {
            putenv((char *)*env);
            if (strncmp(*env, "LD_PRELOAD=", 11) == 0) {
                const char *a = getenv("ASAN_OPTIONS");
                char opts[1024];
                snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", a ? a : "",
                         a ? ":" : "");
                setenv("ASAN_OPTIONS", opts, 1);
            }
        }
        execl(bin, bin, "run", "-c", h->config, (char *)NULL);
        _exit(127);
    }
    h->pid = pid;
    return 0;
}

static int spawn(struct fy_h_ferry *h)
{
    return spawn_env(h, NULL);
}

static int wait_running(struct fy_h_ferry *h, long from)
{
    int64_t end = fy_clock_mono_ms() + fy_h_ms(20000);

    while (fy_clock_mono_ms() < end) {
        FILE *f = fopen(h->log, "r");
        char line[4096];
        int st;
        if (f != NULL) {
            fseek(f, from, SEEK_SET);
            while (fgets(line, sizeof(line), f) != NULL) {
                if (strstr(line, "] running:") != NULL) {
                    fclose(f);
                    return 0;
                }
            }
            fclose(f);
        }
        if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
            h->pid = 0;
            break;
        }
        nap(50);
    }
    fprintf(stderr, "harness: ferry did not start; log %s:\n", h->log);
    fy_h_sh("tail -n 30 '%s' >&2", h->log);
    return -1;
}

int fy_h_ferry_start(struct fy_h_ferry *h, const char *yaml)
{
    if (fy_h_ferry_prepare(h, yaml) != 0 || spawn(h) != 0) {
        return -1;
    }
    return wait_running(h, 0);
}

int fy_h_ferry_prepare(struct fy_h_ferry *h, const char *yaml)
{
    FILE *f;
    const char *p;

    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/ferry-test-XXXXXX");
    if (mkdtemp(h->dir) == NULL) {
        return -1;
    }
    snprintf(h->config, sizeof(h->config), "%s/ferry.yaml", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/ferry.log", h->dir);
    f = fopen(h->config, "w");
    if (f == NULL) {
        return -1;
    }
    for (p = yaml; *p != '\0'; p++) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            fputs(h->dir, f);
            p += 4;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    return 0;
}

int fy_h_ferry_spawn(struct fy_h_ferry *h)
{
    return spawn(h);
}

int fy_h_ferry_restart_env(struct fy_h_ferry *h, const char *const *env)
{
    struct stat st;
    long from = stat(h->log, &st) == 0 ? (long)st.st_size : 0;

    if (spawn_env(h, env) != 0) {
        return -1;
    }
    return wait_running(h, from);
}

int fy_h_ferry_restart(struct fy_h_ferry *h)
{
    struct stat st;
    long from = stat(h->log, &st) == 0 ? (long)st.st_size : 0;

    if (spawn(h) != 0) {
        return -1;
    }
    return wait_running(h, from);
}

int fy_h_ferry_stop(struct fy_h_ferry *h, int sig, int timeout_ms)
{
    int64_t end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);
    int st;

    if (h->pid <= 0) {
        return -1;
    }
    kill(h->pid, sig);
    while (fy_clock_mono_ms() < end) {
        if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
            h->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        nap(20);
    }
    kill(h->pid, SIGKILL);
    waitpid(h->pid, &st, 0);
    h->pid = 0;
    return -1;
}

int fy_h_log_contains(const struct fy_h_ferry *h, const char *text)
{
    FILE *f = fopen(h->log, "r");
    char line[8192];
    int found = 0;

    if (f == NULL) {
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        found = strstr(line, text) != NULL;
    }
    fclose(f);
    return found;
}

int fy_h_wait_log(const struct fy_h_ferry *h, const char *text, int timeout_ms)
{
    int64_t end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);

    while (fy_clock_mono_ms() < end) {
        if (fy_h_log_contains(h, text)) {
            return 1;
        }
        nap(50);
    }
    return 0;
}

/* Drop the broker-side sessions of every client id in h's config. A test's Ferry subscribes
 * with a persistent session to broad filters (v3/+/devices/+/up); left behind, that session
 * queues every later test's uplinks (up to max_queued_messages each) and mosquitto, which
 * saves its whole store every second, slows down for all later tests. A clean-session connect
 * with the same client id discards the session. Ids that are not MQTT sources' (a webhook's
 * OAuth client_id) cost one harmless connect. */
static void clear_sessions(const struct fy_h_ferry *h)
{
    const char *url, *brokers;
    char host[200], line[1024];
    int port = 1883;
    FILE *f;

    if (h->config[0] == '\0' || fy_h_services(&url, &brokers) != 0 ||
        sscanf(url, "tcp://%199[^:]:%d", host, &port) < 1) {
        return;
    }
    f = fopen(h->config, "r");
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char id[200];
        const char *p = strstr(line, "client_id:");
        size_t n;

        if (p == NULL) {
            continue;
        }
        p += strlen("client_id:");
        p += strspn(p, " \t\"'");
        n = strcspn(p, " \t\"',}\r\n");
        if (n == 0 || n >= sizeof(id) || strchr(p, '$') == p) {
            continue;
        }
        memcpy(id, p, n);
        id[n] = '\0';
        fy_h_sh("mosquitto_sub -h '%s' -p %d -i '%s' -t ferry/harness/none -E -W 5 "
                ">/dev/null 2>&1", host, port, id);
    }
    if (f != NULL) {
        fclose(f);
    }
}

void fy_h_ferry_cleanup(struct fy_h_ferry *h)
{
    if (h->pid > 0) {
        fy_h_ferry_stop(h, SIGKILL, 5000);
    }
    clear_sessions(h);
    if (h->dir[0] != '\0' && getenv("FERRY_TEST_KEEP") == NULL) {
        fy_h_sh("rm -rf '%s'", h->dir);
    }
}

/* ==== MQTT ==== */

int fy_h_publish(const char *url, const char *topic, const void *payload, size_t len, int qos)
{
    char path[] = "/tmp/ferry-pub-XXXXXX";
    char host[200];
    int port = 1883, fd, rc;
    FILE *f;

    /* mosquitto_pub sends a file's bytes as they are (binary-safe) and waits for the PUBACK */
    if (sscanf(url, "tcp://%199[^:]:%d", host, &port) < 1) {
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    f = fdopen(fd, "wb");
    if (f == NULL || (len > 0 && fwrite(payload, 1, len, f) != len)) {
        if (f != NULL) {
            fclose(f);
        }
        unlink(path);
        return -1;
    }
    fclose(f);
    rc = fy_h_sh("mosquitto_pub -h '%s' -p %d -q %d -t '%s' -f '%s'", host, port, qos, topic,
                 path);
    unlink(path);
    return rc == 0 ? 0 : -1;
}

int fy_h_loadgen(const char *url, const char *args)
{
    const char *bin = getenv("FERRY_LOADGEN");

    if (bin == NULL) {
        fprintf(stderr, "harness: FERRY_LOADGEN not set\n");
        return -1;
    }
    return fy_h_sh("'%s' --url '%s' %s", bin, url, args);
}

/* ==== Kafka ==== */

static void header(const rd_kafka_message_t *m, const char *name, char *out, size_t size)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;

    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && n < size) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
}

size_t fy_h_consume(const char *brokers, const char *topic, size_t count, int timeout_ms,
                    struct fy_h_kmsg **out)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *subs;
    rd_kafka_t *rk;
    char errstr[256];
    size_t n = 0, cap = count > 0 ? count : 16;
    int64_t end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);
    int64_t quiet_until = 0;

    *out = calloc(cap, sizeof(**out));
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", fy_h_unique("test-consumer"), errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "500", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "allow.auto.create.topics", "true", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        return 0;
    }
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    while (fy_clock_mono_ms() < end && (count == 0 || n < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m == NULL) {
            if (count == 0 && quiet_until > 0 && fy_clock_mono_ms() > quiet_until) {
                break;
            }
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            struct fy_h_kmsg *k;
            if (n == cap) {
                cap *= 2;
                *out = realloc(*out, cap * sizeof(**out));
            }
            k = &(*out)[n++];
            memset(k, 0, sizeof(*k));
            k->key = strndup(m->key ? (const char *)m->key : "", m->key_len);
            k->value = strndup(m->payload ? (const char *)m->payload : "", m->len);
            k->value_len = m->len;
            k->partition = m->partition;
            k->offset = m->offset;
            header(m, "recType", k->rec_type, sizeof(k->rec_type));
            header(m, "event_type", k->event_type, sizeof(k->event_type));
            header(m, "id", k->id, sizeof(k->id));
            quiet_until = fy_clock_mono_ms() + 3000;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return n;
}

size_t fy_h_aws_read(const char *kind, const char *name, size_t expect, int timeout_s,
                     struct fy_h_kmsg **out)
{
    const char *e, *a, *py;
    int sqs = strcmp(kind, "sqs") == 0, st;
    char exp[48] = "", *text, *line, *save = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    if (fy_h_aws(&e, &a, &py) != 0) {
        return 0;
    }
    if (expect > 0) {
        snprintf(exp, sizeof(exp), "--expect %zu", expect);
    }
    text = fy_h_aws_tool(e, &st, "%s '%s' %s --timeout %d", sqs ? "sqs-drain" : "kinesis-read",
                         name, exp, timeout_s);
    for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(j, sqs ? "body" : "data"));
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItem(j, sqs ? "group" : "key"));
        if (v != NULL) {
            if (n == cap) {
                struct fy_h_kmsg *m = realloc(*out, (cap = cap ? cap * 2 : 1024) * sizeof(*m));
                if (m == NULL) {
                    cJSON_Delete(j);
                    break;
                }
                *out = m;
            }
            memset(&(*out)[n], 0, sizeof((*out)[n]));
            (*out)[n].key = k != NULL ? strdup(k) : NULL;
            (*out)[n].value = strdup(v);
            (*out)[n].value_len = strlen(v);
            n++;
        }
        cJSON_Delete(j);
    }
    free(text);
    return n;
}

void fy_h_kmsgs_free(struct fy_h_kmsg *m, size_t n)
{
    size_t i;

    for (i = 0; m != NULL && i < n; i++) {
        free(m[i].key);
        free(m[i].value);
    }
    free(m);
}

void fy_h_config(char *out, size_t size, const char *url, const char *brokers,
                 const char *kafka_topic, const char *client_id, const char *share_group,
                 const char *journal_extra, const char *sink_extra)
{
    char pre[128] = "";

    if (share_group != NULL) {
        snprintf(pre, sizeof(pre), "$share/%s/", share_group);
    }
    snprintf(out, size,
             "instance: ferry-test\n"
             "log_level: info\n"
             "journal:\n"
             "  dir: @DIR@/journal\n"
             "%s"
             "sources:\n"
             "  - name: ns\n"
             "    type: mqtt\n"
             "    url: %s\n"
             "    client_id: %s\n"
             "    topics:\n"
             "      - filter: %sv3/+/devices/+/up\n"
             "        qos: 1\n"
             "      - filter: %sapplication/+/device/+/event/up\n"
             "        qos: 1\n"
             "sinks:\n"
             "  - name: kafka\n"
             "    type: kafka\n"
             "    brokers: %s\n"
             "    linger_ms: 2\n"
             "%s"
             "routes:\n"
             "  - name: tts\n"
             "    match: v3/+/devices/+/up\n"
             "    format: tts-v3\n"
             "    recType: io.test.tts\n"
             "    sinks: [{sink: kafka, topic: %s}]\n"
             "  - name: chirpstack\n"
             "    match: application/+/device/+/event/up\n"
             "    format: chirpstack-v4\n"
             "    recType: io.test.cs\n"
             "    sinks: [{sink: kafka, topic: %s}]\n",
             journal_extra ? journal_extra : "", url, client_id, pre, pre, brokers,
             sink_extra ? sink_extra : "", kafka_topic, kafka_topic);
}

size_t fy_h_oracle_check(const struct fy_h_kmsg *msgs, size_t n, unsigned devices,
                         uint32_t first_seq, uint32_t per_device, struct fy_h_oracle *o)
{
    unsigned char *seen = calloc((size_t)devices * per_device, 1);
    int64_t *last = malloc(devices * sizeof(*last));
    size_t i, missing = 0;
    unsigned d;

    memset(o, 0, sizeof(*o));
    for (d = 0; d < devices; d++) {
        last[d] = -1;
    }
    for (i = 0; i < n; i++) {
        const char *v = msgs[i].value;
        const char *e = strstr(v, "\"devEUI\":\"70b3d57ed0");
        const char *f = strstr(v, "\"fCnt\":");
        unsigned dev;
        long long fcnt;

        o->received++;
        if (e == NULL || f == NULL || sscanf(e + 20, "%6x", &dev) != 1 ||
            sscanf(f + 7, "%lld", &fcnt) != 1 || dev >= devices || fcnt < first_seq ||
            fcnt >= (long long)first_seq + per_device) {
            o->foreign++;
            continue;
        }
        if (seen[(size_t)dev * per_device + (size_t)(fcnt - first_seq)]++) {
            o->duplicates++;
            continue;
        }
        o->unique++;
        if (fcnt < last[dev]) {
            o->order_violations++;
        }
        last[dev] = fcnt;
    }
    for (i = 0; i < (size_t)devices * per_device; i++) {
        if (seen[i] == 0 && missing++ < 10) {
            fprintf(stderr, "  missing: device %zu fCnt %zu\n", i / per_device,
                    first_seq + i % per_device);
        }
    }
    free(seen);
    free(last);
    return missing;
}

pid_t fy_h_loadgen_start(const char *url, const char *args)
{
    const char *bin = getenv("FERRY_LOADGEN");
    char cmd[2048];
    pid_t pid;

    if (bin == NULL) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "exec '%s' --url '%s' %s", bin, url, args);
    pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

int fy_h_wait_pid(pid_t pid, int timeout_ms)
{
    int64_t end = fy_clock_mono_ms() + fy_h_ms(timeout_ms);
    int st;

    while (fy_clock_mono_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        nap(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

int fy_h_services_do(const char *verb)
{
    return fy_h_sh("FERRY_SERVICES_DIR='%s' '%s/scripts/services' %s", getenv("FERRY_SERVICES_DIR"),
                   getenv("FERRY_SOURCE_DIR"), verb);
}

long fy_h_knob(const char *name, long def)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def;
}

int fy_h_https_start(char *dir, size_t dir_size, int *port, pid_t *pid)
{
    char cmd[1024];
    FILE *p;
    int pd = 0;

    snprintf(dir, dir_size, "/tmp/ferry-https-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    if (fy_h_sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '%s/key.pem' "
                "-out '%s/cert.pem' 2>/dev/null", dir, dir) != 0) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd),
             "python3 '%s/tests/support/https_server.py' --cert '%s/cert.pem' --key "
             "'%s/key.pem' --log '%s/requests.jsonl' 2>/dev/null & echo $!",
             getenv("FERRY_SOURCE_DIR"), dir, dir, dir);
    p = popen(cmd, "r");
    if (p == NULL || fscanf(p, "%d", &pd) != 1 || fscanf(p, " port %d", port) != 1) {
        return -1;
    }
    *pid = (pid_t)pd;
    /* the pipe stays open on purpose: the server writes nothing more to it */
    return 0;
}

void fy_h_https_stop(const char *dir, pid_t pid)
{
    if (pid > 0) {
        kill(pid, SIGKILL);
    }
    fy_h_sh("pkill -f '%s/cert.pem' 2>/dev/null; rm -rf '%s'", dir, dir);
}
