/* uplink_gen.h - realistic The Things Stack v3 and ChirpStack v4 uplink messages for the load
 * generator and tests: device n, sequence s -> topic + JSON, payload bytes derived from (n, s)
 * so a consumer can check them. Header-only (static functions) so each bench/test program can
 * include it. */
#ifndef FY_UPLINK_GEN_H
#define FY_UPLINK_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* 8 payload bytes: device (2), sequence (4), check (2). */
static void gen_payload(unsigned dev, uint32_t seq, unsigned char out[8])
{
    out[0] = (unsigned char)(dev >> 8);
    out[1] = (unsigned char)dev;
    out[2] = (unsigned char)(seq >> 24);
    out[3] = (unsigned char)(seq >> 16);
    out[4] = (unsigned char)(seq >> 8);
    out[5] = (unsigned char)seq;
    out[6] = (unsigned char)(0xA5 ^ out[1] ^ out[5]);
    out[7] = (unsigned char)(0x5A ^ out[0] ^ out[4]);
}

static void gen_b64(const unsigned char *p, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63];
        out[o++] = t[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = t[v >> 18];
        out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

static void gen_now(char *out, size_t size)
{
    struct timeval tv;
    struct tm tm;
    size_t n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%06ldZ", (long)tv.tv_usec);
}

/* devEUI of device n: 16 hex digits. */
static void gen_eui(unsigned dev, char out[17])
{
    snprintf(out, 17, "70b3d57ed0%06x", dev);
}

/* Fill topic and body for device dev, sequence seq; chirpstack != 0 for ChirpStack v4.
 * Returns the body length. */
static int gen_uplink(int chirpstack, unsigned dev, uint32_t seq, char *topic, size_t tsize,
                      char *body, size_t bsize)
{
    unsigned char pl[8];
    char b64[16], eui[17], now[40];

    gen_payload(dev, seq, pl);
    gen_b64(pl, sizeof(pl), b64);
    gen_eui(dev, eui);
    gen_now(now, sizeof(now));
    if (!chirpstack) {
        snprintf(topic, tsize, "v3/ferry-demo@ttn/devices/dev-%u/up", dev);
        return snprintf(body, bsize,
            "{\"end_device_ids\":{\"device_id\":\"dev-%u\",\"application_ids\":"
            "{\"application_id\":\"ferry-demo\"},\"dev_eui\":\"%s\",\"join_eui\":"
            "\"0000000000000000\",\"dev_addr\":\"260b%04x\"},\"correlation_ids\":"
            "[\"as:up:01HBENCH%08X\"],\"received_at\":\"%s\",\"uplink_message\":{"
            "\"session_key_id\":\"AYqSsBZ6VHdOqA==\",\"f_port\":2,\"f_cnt\":%u,"
            "\"frm_payload\":\"%s\",\"rx_metadata\":[{\"gateway_ids\":{\"gateway_id\":"
            "\"gw-ferry-1\",\"eui\":\"B827EBFFFE000001\"},\"time\":\"%s\",\"timestamp\":%u,"
            "\"rssi\":-%u,\"channel_rssi\":-%u,\"snr\":7.5,\"uplink_token\":\"ChQKEgoKZ3ctZmVycnk=\"}],"
            "\"settings\":{\"data_rate\":{\"lora\":{\"bandwidth\":125000,\"spreading_factor\":7,"
            "\"coding_rate\":\"4/5\"}},\"frequency\":\"868100000\",\"timestamp\":%u},"
            "\"received_at\":\"%s\",\"consumed_airtime\":\"0.056576s\"}}",
            dev, eui, dev & 0xffff, seq, now, seq, b64, now, seq * 1000u, 60 + dev % 50,
            60 + dev % 50, seq * 1000u, now);
    }
    snprintf(topic, tsize, "application/5f0d3c1e-ferry-demo/device/%s/event/up", eui);
    return snprintf(body, bsize,
        "{\"deduplicationId\":\"%08x-0000-4000-8000-%012x\",\"time\":\"%s\",\"deviceInfo\":{"
        "\"tenantId\":\"52f14cd4-c6f1-4fbd-8f87-4025e1d49242\",\"tenantName\":\"ChirpStack\","
        "\"applicationId\":\"5f0d3c1e-ferry-demo\",\"applicationName\":\"ferry-demo\","
        "\"deviceProfileId\":\"14855bf7-d10d-4aee-b618-ebfcb64dc7ad\",\"deviceProfileName\":"
        "\"bench\",\"deviceName\":\"dev-%u\",\"devEui\":\"%s\",\"tags\":{}},\"devAddr\":"
        "\"260b%04x\",\"adr\":true,\"dr\":5,\"fCnt\":%u,\"fPort\":2,\"confirmed\":false,"
        "\"data\":\"%s\",\"rxInfo\":[{\"gatewayId\":\"0016c001f153a14c\",\"uplinkId\":%u,"
        "\"rssi\":-%u,\"snr\":7.5,\"context\":\"E3OWOQ==\",\"metadata\":{\"region_name\":"
        "\"eu868\"}}],\"txInfo\":{\"frequency\":868100000,\"modulation\":{\"lora\":{"
        "\"bandwidth\":125000,\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}}}",
        seq, dev, now, dev, eui, dev & 0xffff, seq, b64, seq, 60 + dev % 50);
}

#endif
