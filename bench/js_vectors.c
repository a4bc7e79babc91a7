/* js_vectors.c - runs every published uplink example of TheThingsNetwork/lorawan-devices
 * through Ferry's JavaScript engine and reports which codecs pass all their examples, next to
 * the Node.js reference results recorded in the vector file; also the decode rate.
 * Usage: bench_js_vectors --repo DIR --vectors vectors.jsonl [--verbose] [--rounds N]
 * (DIR is a local checkout of lorawan-devices; scripts/js-codec-check.sh fetches the paths). */
#include "core/file.h"
#include "codecs/js/js_engine.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct codec {
    char *js;           /* path relative to the repo */
    int examples, passed, node_passed;
    char first_fail[300];
};

static double now_s(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Deep equality with a relative tolerance on numbers (engines print doubles alike, but a
 * codec may compute 0.1+0.2 differently from the YAML's literal). */
static int same(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) {
        double x = a->valuedouble, y = b->valuedouble;
        return x == y || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y));
    }
    if ((a->type & 0xff) != (b->type & 0xff)) {
        return 0;
    }
    if (cJSON_IsObject(a)) {
        const cJSON *it;
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) {
            return 0;
        }
        cJSON_ArrayForEach(it, a)
        {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(b, it->string);
            if (o == NULL || !same(it, o)) {
                return 0;
            }
        }
        return 1;
    }
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x != NULL && y != NULL; x = x->next, y = y->next) {
            if (!same(x, y)) {
                return 0;
            }
        }
        return x == NULL && y == NULL;
    }
    return cJSON_Compare(a, b, 1);
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"repo", required_argument, NULL, 'r'},
                                             {"vectors", required_argument, NULL, 'v'},
                                             {"verbose", no_argument, NULL, 'V'},
                                             {"rounds", required_argument, NULL, 'n'},
                                             {NULL, 0, NULL, 0}};
    const char *repo = NULL, *vectors = NULL;
    int verbose = 0, rounds = 20;
    struct codec *codecs = NULL;
    size_t n_codecs = 0, cap = 0, i;
    char line[1 << 16];
    FILE *vf;
    long calls = 0;
    double busy = 0;
    int c, node_ok = 0, both = 0, ours_only = 0;

    while ((c = getopt_long(argc, argv, "r:v:Vn:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': repo = optarg; break;
        case 'v': vectors = optarg; break;
        case 'V': verbose = 1; break;
        case 'n': rounds = (int)strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (repo == NULL || vectors == NULL || (vf = fopen(vectors, "r")) == NULL) {
        fprintf(stderr, "usage: bench_js_vectors --repo DIR --vectors FILE [--verbose]\n");
        return 2;
    }
    /* Group the vectors by codec file, in file order (the file lists a codec's examples together). */
    {
        struct fy_js *js = NULL;
        char *loaded = NULL;
        char *lastpath = NULL;

        while (fgets(line, sizeof(line), vf) != NULL) {
            cJSON *v = cJSON_Parse(line);
            const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(v, "codec_js"));
            const char *yaml = cJSON_GetStringValue(cJSON_GetObjectItem(v, "codec_yaml"));
            const char *hex = cJSON_GetStringValue(cJSON_GetObjectItem(v, "bytes_hex"));
            cJSON *fport = cJSON_GetObjectItem(v, "fPort");
            cJSON *expected = cJSON_GetObjectItem(v, "expected");
            const char *node = cJSON_GetStringValue(
                cJSON_GetObjectItem(cJSON_GetObjectItem(v, "check"), "node"));
            struct codec *cd;
            struct fy_err err = {0};
            char *out = NULL;
            unsigned char bytes[4096];
            size_t nb = 0;
            int ok = 0;

            if (path == NULL || yaml == NULL || hex == NULL || expected == NULL) {
                cJSON_Delete(v);
                continue;
            }
            if (lastpath == NULL || strcmp(lastpath, yaml) != 0) {
                if (n_codecs == cap) {
                    cap = cap ? cap * 2 : 64;
                    codecs = realloc(codecs, cap * sizeof(*codecs));
                }
                memset(&codecs[n_codecs], 0, sizeof(*codecs));
                codecs[n_codecs].js = strdup(yaml);
                n_codecs++;
                lastpath = codecs[n_codecs - 1].js;
            }
            cd = &codecs[n_codecs - 1];
            cd->examples++;
            if (node != NULL && strcmp(node, "pass") == 0) {
                cd->node_passed++;
            }
            if (loaded == NULL || strcmp(loaded, path) != 0) {
                char full[4096];
                size_t len = 0;
                char *src;
                fy_js_destroy(js);
                js = NULL;
                snprintf(full, sizeof(full), "%s/%s", repo, path);
                src = fy_file_read(full, 4u << 20, &len, NULL);
                if (src != NULL) {
                    js = fy_js_create(src, len, path, 1000, 64u << 20, &err);
                    free(src);
                } else {
                    snprintf(err.msg, sizeof(err.msg), "cannot read %s", full);
                }
                if (js == NULL && cd->first_fail[0] == '\0') {
                    snprintf(cd->first_fail, sizeof(cd->first_fail), "load: %s", err.msg);
                }
                free(loaded);
                loaded = strdup(path);
            }
            for (i = 0; hex[2 * i] && hex[2 * i + 1] && i < sizeof(bytes); i++) {
                bytes[i] = (unsigned char)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]));
            }
            nb = i;
            if (js != NULL) {
                double t0 = now_s();
                int rc = fy_js_decode(js, bytes, nb, fport ? fport->valueint : 1,
                                      "2024-06-17T00:00:00Z", &out, &err);
                busy += now_s() - t0;
                calls++;
                if (rc == FY_OK) {
                    cJSON *got = cJSON_Parse(out);
                    const cJSON *gd = cJSON_GetObjectItem(got, "data");
                    const cJSON *ed = cJSON_GetObjectItem(expected, "data");
                    const cJSON *ee = cJSON_GetObjectItem(expected, "errors");
                    const cJSON *ge = cJSON_GetObjectItem(got, "errors");
                    if (cJSON_GetArraySize(ee) > 0) {
                        ok = ge != NULL && same(ee, ge);
                    } else {
                        ok = (ed == NULL && gd == NULL) || (ed != NULL && gd != NULL && same(ed, gd));
                    }
                    if (!ok && cd->first_fail[0] == '\0') {
                        snprintf(cd->first_fail, sizeof(cd->first_fail), "fPort %d %s: got %.200s",
                                 fport ? fport->valueint : 1, hex, out);
                    }
                    cJSON_Delete(got);
                    /* decode rate: repeat this example a few times */
                    if (ok) {
                        int r;
                        double t1 = now_s();
                        for (r = 0; r < rounds; r++) {
                            char *o2 = NULL;
                            if (fy_js_decode(js, bytes, nb, fport ? fport->valueint : 1,
                                             "2024-06-17T00:00:00Z", &o2, &err) == FY_OK) {
                                free(o2);
                            }
                        }
                        busy += now_s() - t1;
                        calls += rounds;
                    }
                } else if (cd->first_fail[0] == '\0') {
                    snprintf(cd->first_fail, sizeof(cd->first_fail), "%s", err.msg);
                }
                free(out);
            }
            cd->passed += ok;
            cJSON_Delete(v);
        }
        fy_js_destroy(js);
        free(loaded);
    }
    fclose(vf);
    for (i = 0; i < n_codecs; i++) {
        int node_all = codecs[i].node_passed == codecs[i].examples;
        int ours_all = codecs[i].passed == codecs[i].examples;
        node_ok += node_all;
        both += node_all && ours_all;
        ours_only += !node_all && ours_all;
        if (verbose && node_all && !ours_all) {
            printf("FAIL %s: %s\n", codecs[i].js, codecs[i].first_fail);
        }
    }
    printf("codecs with examples: %zu\n", n_codecs);
    printf("pass all examples on Node.js (reference): %d\n", node_ok);
    printf("pass all examples in Ferry (SpiderMonkey): %d of those %d (%.1f%%)%s\n", both,
           node_ok, node_ok ? 100.0 * both / node_ok : 0.0,
           ours_only ? " (+ some Node fails too)" : "");
    printf("decode rate: %.0f calls/s on one thread (%ld calls)\n", busy > 0 ? calls / busy : 0,
           calls);
    for (i = 0; i < n_codecs; i++) {
        free(codecs[i].js);
    }
    free(codecs);
    fy_js_shutdown();
    return 0;
}
