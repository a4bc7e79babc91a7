/* loadgen.c - publishes realistic The Things Stack v3 / ChirpStack v4 uplinks to an MQTT broker
 * at full speed or a given rate, QoS 0 or 1, with a bounded in-flight window; counts PUBACKs. */
#include "bench/uplink_gen.h"

#include <MQTTAsync.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long acked;
static atomic_long failed;
static atomic_int inflight;

static void on_sent(void *ctx, MQTTAsync_successData *r)
{
    (void)ctx;
    (void)r;
    atomic_fetch_add(&acked, 1);
    atomic_fetch_sub(&inflight, 1);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
    (void)ctx;
    (void)r;
    atomic_fetch_add(&failed, 1);
    atomic_fetch_sub(&inflight, 1);
}

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: bench_loadgen --url URL [--count N] [--rate R] [--qos 0|1] [--devices D]\n"
            "                     [--format tts|chirpstack|mixed] [--inflight W] [--start S]\n"
            "Publishes N uplinks (default 10000) round-robin over D devices (default 50); device d\n"
            "gets fCnt S, S+1, ... R msg/s (0 = full speed). Prints sent, acked, rate.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},     {"count", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},    {"qos", required_argument, NULL, 'q'},
        {"devices", required_argument, NULL, 'd'}, {"format", required_argument, NULL, 'f'},
        {"inflight", required_argument, NULL, 'w'}, {"start", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const char *url = NULL, *format = "tts";
    long count = 10000, rate = 0, start = 0;
    int qos = 1, devices = 50, window = 100, c, rc;
    MQTTAsync client;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    char id[64], topic[256], body[4096];
    double t0, t1;
    long i;

    while ((c = getopt_long(argc, argv, "u:n:r:q:d:f:w:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'r': rate = strtol(optarg, NULL, 10); break;
        case 'q': qos = (int)strtol(optarg, NULL, 10); break;
        case 'd': devices = (int)strtol(optarg, NULL, 10); break;
        case 'f': format = optarg; break;
        case 'w': window = (int)strtol(optarg, NULL, 10); break;
        case 's': start = strtol(optarg, NULL, 10); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (url == NULL || count < 0 || devices < 1 || (qos != 0 && qos != 1) || window < 1) {
        usage(stderr);
        return 2;
    }
    snprintf(id, sizeof(id), "ferry-loadgen-%d", (int)getpid());
    if (MQTTAsync_create(&client, url, id, MQTTCLIENT_PERSISTENCE_NONE, NULL) !=
        MQTTASYNC_SUCCESS) {
        fprintf(stderr, "loadgen: bad url %s\n", url);
        return 1;
    }
    co.cleansession = 1;
    co.maxInflight = window + 10;
    rc = MQTTAsync_connect(client, &co);
    for (i = 0; i < 100 && !MQTTAsync_isConnected(client); i++) {
        usleep(50000);
    }
    if (rc != MQTTASYNC_SUCCESS || !MQTTAsync_isConnected(client)) {
        fprintf(stderr, "loadgen: cannot connect to %s\n", url);
        return 1;
    }
    t0 = now_s();
    for (i = 0; i < count; i++) {
        MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
        MQTTAsync_message m = MQTTAsync_message_initializer;
        unsigned dev = (unsigned)(i % devices);
        uint32_t seq = (uint32_t)(start + i / devices);
        int cs = strcmp(format, "chirpstack") == 0 || (strcmp(format, "mixed") == 0 && dev % 2);
        int len = gen_uplink(cs, dev, seq, topic, sizeof(topic), body, sizeof(body));

        if (rate > 0) {
            double due = t0 + (double)i / (double)rate;
            double now = now_s();
            if (due > now) {
                usleep((useconds_t)((due - now) * 1e6));
            }
        }
        while (atomic_load(&inflight) >= window) {
            usleep(50);
        }
        m.payload = body;
        m.payloadlen = len;
        m.qos = qos;
        ro.onSuccess = on_sent;
        ro.onFailure = on_fail;
        atomic_fetch_add(&inflight, 1);
        while ((rc = MQTTAsync_sendMessage(client, topic, &m, &ro)) != MQTTASYNC_SUCCESS) {
            if (rc != MQTTASYNC_MAX_BUFFERED_MESSAGES && rc != MQTTASYNC_MAX_MESSAGES_INFLIGHT) {
                fprintf(stderr, "loadgen: publish failed: %s\n", MQTTAsync_strerror(rc));
                return 1;
            }
            usleep(100);
        }
    }
    for (i = 0; i < 600 && atomic_load(&inflight) > 0; i++) {
        usleep(50000);
    }
    t1 = now_s();
    printf("loadgen: %ld sent, %ld acked, %ld failed in %.3f s: %.0f msg/s (QoS %d)\n", count,
           (long)atomic_load(&acked), (long)atomic_load(&failed), t1 - t0,
           (double)count / (t1 - t0), qos);
    {
        MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
        d.timeout = 1000;
        MQTTAsync_disconnect(client, &d);
        usleep(100000);
    }
    MQTTAsync_destroy(&client);
    return atomic_load(&failed) > 0 || atomic_load(&inflight) > 0 ? 1 : 0;
}
