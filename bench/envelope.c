/* envelope.c - envelope build rate on one core, and side by side in the same run the share of
 * it spent proving the envelope is UTF-8 (fy_utf8_valid over the printed text), for a valid
 * uplink and for one with ill-formed bytes in device_id (the repair path).
 * Usage: bench_envelope [-s SECONDS] (default 1 per case). */
#include "bridge/envelope.h"
#include "codecs/uplink.h"
#include "core/clock.h"
#include "core/utf8.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void make(struct fy_uplink *up, const char *device_id)
{
    static const unsigned char pl[] = {0x01, 0x67, 0x00, 0xe1, 0x02, 0x68, 0x55, 0x03, 0x02,
                                       0x01, 0x2c};

    fy_uplink_init(up);
    snprintf(up->format, sizeof(up->format), "tts-v3");
    snprintf(up->event, sizeof(up->event), "up");
    snprintf(up->dev_eui, sizeof(up->dev_eui), "70b3d57ed0000001");
    snprintf(up->device_id, sizeof(up->device_id), "%s", device_id);
    snprintf(up->application_id, sizeof(up->application_id), "plant-7-sensors");
    snprintf(up->received_at, sizeof(up->received_at), "2026-12-02T10:00:00.123456Z");
    up->f_cnt = 4711;
    up->f_port = 2;
    up->payload = malloc(sizeof(pl));
    memcpy(up->payload, pl, sizeof(pl));
    up->payload_len = sizeof(pl);
    up->radio = cJSON_Parse("{\"frequency\":868100000,\"sf\":7,\"bw\":125000,\"gateways\":"
                            "[{\"id\":\"eui-b827ebfffe000001\",\"rssi\":-71,\"snr\":9.5},"
                            "{\"id\":\"eui-b827ebfffe000002\",\"rssi\":-98,\"snr\":-3.25}]}");
}

static void run(const char *name, const char *device_id, double seconds)
{
    struct fy_uplink up;
    struct fy_envelope env;
    struct fy_err err = {0};
    int64_t t0, t_build, t_valid;
    long n = 0, k, valid = 0;
    size_t len = 0;

    make(&up, device_id);
    t0 = fy_clock_mono_ms();
    while (fy_clock_mono_ms() - t0 < (int64_t)(seconds * 1000)) {
        for (k = 0; k < 1000; k++, n++) {
            if (fy_envelope_build(&env, &up, NULL, "io.lorawan.uplink", NULL, "ns", "raw", 3,
                                  &err) != FY_OK) {
                fprintf(stderr, "%s: %s\n", name, err.msg);
                exit(1);
            }
            len = env.len;
            fy_envelope_clear(&env);
        }
    }
    t_build = fy_clock_mono_ms() - t0;
    if (fy_envelope_build(&env, &up, NULL, "io.lorawan.uplink", NULL, "ns", "raw", 3, &err) !=
        FY_OK) {
        exit(1);
    }
    t0 = fy_clock_mono_ms();
    for (k = 0; k < n; k++) {
        valid += fy_utf8_valid(env.json, env.len);
    }
    t_valid = fy_clock_mono_ms() - t0;
    printf("%-10s %7.0f envelopes/s  (%zu bytes)  UTF-8 check: %.1f%% of the build time%s\n",
           name, (double)n * 1000.0 / (double)(t_build > 0 ? t_build : 1), len,
           100.0 * (double)t_valid / (double)(t_build > 0 ? t_build : 1),
           valid == n ? "" : " (text not valid: bug)");
    fy_envelope_clear(&env);
    fy_uplink_clear(&up);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    int c;

    while ((c = getopt(argc, argv, "s:")) != -1) {
        seconds = c == 's' ? atof(optarg) : seconds;
    }
    run("valid", "temperature-sensor-0042", seconds);
    run("repaired", "temp\xff\xfe-sensor\xc0\xaf-0042", seconds);
    return 0;
}
