/* decode.c - decode rate on one core: each network format on a real sample (from
 * tests/fixtures/uplinks) and each payload codec kind on an 11-byte payload.
 * Usage: bench_decode [--seconds S] (default 1 per case). */
#include "core/b64.h"
#include "core/conf.h"
#include "core/file.h"
#include "codecs/codec.h"
#include "codecs/js/js_engine.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#ifndef FERRY_FIXTURES
#define FERRY_FIXTURES "tests/fixtures"
#endif

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static const struct {
    const char *format, *file, *topic;
} samples[] = {
    {"tts-v3", "tts-v3/docs-mqtt-uplink.json", "v3/app1@ttn/devices/dev1/up"},
    {"chirpstack-v4", "chirpstack-v4/docs-event-up.json",
     "application/a/device/0101010101010101/event/up"},
    {"chirpstack-v3", "chirpstack-v3/tb-decentlab-dl-dws-chirpstack-payload_02.json", "x"},
    {"helium", "helium/docs-uplink.json", "x"},
    {"loriot", "loriot/docs-uplink-basic.json", "x"},
    {"thingpark", "thingpark/real-tago-abeeway-uplink-numbers.json", "x"},
    {"smartclean", "smartclean/docs-batch-example.json", "x"},
};

int main(int argc, char **argv)
{
    double secs = 1;
    size_t i;
    int c;

    while ((c = getopt(argc, argv, "s:")) != -1) {
        if (c == 's') {
            secs = strtod(optarg, NULL);
        }
    }
    printf("| format / codec | messages/s (one core) |\n|---|---|\n");
    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        const struct fy_format_plugin *fp = fy_codec_format_find(samples[i].format);
        char path[512];
        size_t len = 0;
        char *text;
        struct fy_msg msg;
        long n = 0;
        double t0, end;

        snprintf(path, sizeof(path), "%s/uplinks/%s", FERRY_FIXTURES, samples[i].file);
        text = fy_file_read(path, 1 << 20, &len, NULL);
        if (text == NULL || fp == NULL) {
            fprintf(stderr, "missing %s\n", path);
            continue;
        }
        msg = (struct fy_msg){"bench", samples[i].topic, text, len, 1, 0};
        t0 = now_s();
        end = t0 + secs;
        while (now_s() < end) {
            int k;
            for (k = 0; k < 100; k++) {
                struct fy_uplink up;
                struct fy_err err = {0};
                fy_uplink_init(&up);
                fp->decode(&msg, &up, &err);
                fy_uplink_clear(&up);
            }
            n += 100;
        }
        printf("| format %s | %.0f |\n", samples[i].format, (double)n / (now_s() - t0));
        free(text);
    }
    {
        static const char *const codecs[] = {"raw", "cayenne-lpp", "javascript"};
        static const unsigned char lpp[] = {0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff,
                                            0x06, 0x68, 0x64};
        for (i = 0; i < 3; i++) {
            const struct fy_payload_plugin *pp = fy_codec_payload_find(codecs[i]);
            const char *y = "script: " FERRY_FIXTURES "/js/browan-tbsl100.js\n";
            struct fy_err err = {0};
            struct fy_node *opts = i == 2 ? fy_conf_parse(y, strlen(y), "bench", &err) : NULL;
            void *ctx = pp->create(opts, &err);
            struct fy_uplink up;
            long n = 0;
            double t0, end;

            if (ctx == NULL) {
                fprintf(stderr, "%s: %s\n", codecs[i], err.msg);
                continue;
            }
            fy_uplink_init(&up);
            up.payload = malloc(sizeof(lpp));
            memcpy(up.payload, i == 2 ? (const unsigned char *)"\x00\x0b\x36\x28" : lpp,
                   i == 2 ? 4 : sizeof(lpp));
            up.payload_len = i == 2 ? 4 : sizeof(lpp);
            up.f_port = i == 2 ? 105 : 1;
            t0 = now_s();
            end = t0 + secs;
            while (now_s() < end) {
                cJSON *out = NULL;
                if (pp->decode(ctx, &up, &out, &err) == FY_OK) {
                    cJSON_Delete(out);
                }
                n++;
            }
            printf("| codec %s | %.0f |\n", codecs[i], (double)n / (now_s() - t0));
            pp->destroy(ctx);
            fy_conf_free(opts);
            fy_uplink_clear(&up);
        }
    }
    fy_js_shutdown();
    return 0;
}
