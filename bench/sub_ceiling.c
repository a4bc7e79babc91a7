/* sub_ceiling.c - a bare Paho (MQTTAsync) subscriber that only counts messages: the receive
 * rate any Paho-based bridge can reach from this broker on this machine. Prints the rate from
 * the first to the last message. */
#include <MQTTAsync.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static atomic_long got;
static double first, last;

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int on_msg(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
    (void)ctx;
    (void)len;
    if (atomic_fetch_add(&got, 1) == 0) {
        first = now_s();
    }
    last = now_s();
    MQTTAsync_freeMessage(&m);
    MQTTAsync_free(topic);
    return 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"url", required_argument, NULL, 'u'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"qos", required_argument, NULL, 'q'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {NULL, 0, NULL, 0}};
    const char *url = NULL;
    long count = 100000, timeout = 120, i;
    int qos = 1, c;
    MQTTAsync client;
    MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
    char *topics[] = {"v3/+/devices/+/up", "application/+/device/+/event/up"};
    int qoss[2];

    while ((c = getopt_long(argc, argv, "u:n:q:t:", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'q': qos = (int)strtol(optarg, NULL, 10); break;
        case 't': timeout = strtol(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_sub_ceiling --url URL [--count N] [--qos Q]\n");
            return 2;
        }
    }
    if (url == NULL) {
        fprintf(stderr, "usage: bench_sub_ceiling --url URL [--count N] [--qos Q]\n");
        return 2;
    }
    qoss[0] = qoss[1] = qos;
    MQTTAsync_create(&client, url, "ferry-bench-ceiling", MQTTCLIENT_PERSISTENCE_NONE, NULL);
    MQTTAsync_setCallbacks(client, NULL, NULL, on_msg, NULL);
    co.cleansession = 1;
    MQTTAsync_connect(client, &co);
    for (i = 0; i < 100 && !MQTTAsync_isConnected(client); i++) {
        usleep(50000);
    }
    MQTTAsync_subscribeMany(client, 2, topics, qoss, NULL);
    usleep(300000);
    printf("ready\n");
    fflush(stdout);
    for (i = 0; i < timeout * 20 && atomic_load(&got) < count; i++) {
        usleep(50000);
    }
    printf("ceiling: %ld messages in %.3f s: %.0f msg/s (QoS %d)\n", (long)atomic_load(&got),
           last - first, last > first ? (double)(atomic_load(&got) - 1) / (last - first) : 0.0,
           qos);
    MQTTAsync_destroy(&client);
    return atomic_load(&got) >= count ? 0 : 1;
}
