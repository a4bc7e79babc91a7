/* kafka_count.c - benchmark consumer: counts Ferry's envelopes on a Kafka topic, reports the
 * receive rate (first to last message) and, with --latency, end-to-end latency percentiles
 * from the uplink's receivedAt (set to the send time by bench_loadgen) to consumption. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* Parse RFC 3339 "2026-11-24T22:52:24.123456Z" (fraction optional) into Unix microseconds. */
static int64_t parse_time_us(const char *s)
{
    struct tm tm;
    const char *p;
    int64_t frac = 0;
    int digits = 0;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        return -1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits++ < 6) {
            frac *= 10;
        }
    }
    return (int64_t)timegm(&tm) * 1000000 + frac;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "Usage: bench_kafka_count --brokers B --topic T --count N [--timeout S] "
                    "[--latency] [--warmup W] [--group G]\n"
                    "Consumes N messages from the beginning of T and prints the rate; with\n"
                    "--latency also p50/p99 of (consume time - obj.receivedAt).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},   {"timeout", required_argument, NULL, 'T'},
        {"latency", no_argument, NULL, 'L'},       {"group", required_argument, NULL, 'g'},
        {"warmup", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *brokers = NULL, *topic = NULL;
    char group[128];
    long count = 0, timeout_s = 120, warmup = 0;
    int latency = 0;
    int64_t *lat = NULL;
    long got = 0, nlat = 0;
    int64_t first = 0, last = 0, deadline;
    char errstr[512];
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *subs;
    int c;

    snprintf(group, sizeof(group), "bench-%ld", (long)getpid());
    while ((c = getopt_long(argc, argv, "b:t:n:T:Lg:w:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'T': timeout_s = strtol(optarg, NULL, 10); break;
        case 'L': latency = 1; break;
        case 'g': snprintf(group, sizeof(group), "%s", optarg); break;
        case 'w': warmup = strtol(optarg, NULL, 10); break;
        default: usage(); return c == 'h' ? 0 : 2;
        }
    }
    if (brokers == NULL || topic == NULL || count <= 0) {
        usage();
        return 2;
    }
    lat = calloc((size_t)count, sizeof(*lat));
    conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr))) {
        fprintf(stderr, "kafka conf: %s\n", errstr);
        return 1;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka: %s\n", errstr);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    subs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);

    deadline = now_us() + (int64_t)timeout_s * 1000000;
    /* Join the group and get partitions before the load starts (prints "ready"), so that the
     * latency of the first messages is not the consumer's own start-up. */
    for (;;) {
        rd_kafka_topic_partition_list_t *a = NULL;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int n = 0;
        if (m != NULL) {
            rd_kafka_message_destroy(m); /* nothing is published yet: only errors/EOF here */
        }
        if (rd_kafka_assignment(rk, &a) == RD_KAFKA_RESP_ERR_NO_ERROR && a != NULL) {
            n = a->cnt;
            rd_kafka_topic_partition_list_destroy(a);
        }
        if (n > 0 || now_us() > deadline) {
            break;
        }
    }
    printf("ready\n");
    fflush(stdout);
    while (got < count && now_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        int64_t t;
        if (m == NULL) {
            continue;
        }
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        t = now_us();
        if (got == 0) {
            first = t;
        }
        last = t;
        if (latency && got >= warmup) {
            cJSON *env = cJSON_ParseWithLength(m->payload, m->len);
            cJSON *obj = cJSON_GetObjectItemCaseSensitive(env, "obj");
            cJSON *ra = cJSON_GetObjectItemCaseSensitive(obj, "receivedAt");
            if (cJSON_IsString(ra)) {
                int64_t sent = parse_time_us(ra->valuestring);
                if (sent > 0) {
                    lat[nlat++] = t - sent;
                }
            }
            cJSON_Delete(env);
        }
        got++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);

    printf("consumed %ld of %ld in %.3f s: %.0f msg/s\n", got, count,
           (double)(last - first) / 1e6,
           last > first ? (double)(got - 1) * 1e6 / (double)(last - first) : 0.0);
    if (latency && nlat > 0) {
        qsort(lat, (size_t)nlat, sizeof(*lat), cmp64);
        printf("latency over %ld: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", nlat,
               (double)lat[nlat / 2] / 1000.0, (double)lat[(nlat * 99) / 100] / 1000.0,
               (double)lat[nlat - 1] / 1000.0);
    }
    free(lat);
    return got == count ? 0 : 1;
}
