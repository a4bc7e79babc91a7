/* formats.c - the format conformance kit: every sample tests/fixtures/uplinks/<format>/<name>.json
 * is decoded with the network format named by its folder (codecs/codec.h registry) and the
 * normalized uplink (fy_uplink_to_json) is compared field by field with <name>.expected.json
 * beside it. Adding a format or a sample means adding files, not test rows.
 *
 * An expected file is the JSON object fy_uplink_to_json gives (unknown fields left out), plus
 * optional keys starting with '_', which are not uplink fields:
 *   "_topic":   the MQTT topic the sample arrives on (default FY_CONF_DEFAULT_TOPIC);
 *   "_records": for batch formats (decode_multi): the array of expected uplinks, in order;
 *   "_error":   the sample must be refused (FY_EDECODE/FY_ETOOBIG) with this text in the reason;
 *   "_pending": {"<field path>": "why"}: a known gap in Ferry (the expected value is what the
 *               sample says; Ferry does not produce it yet). The difference is printed, not
 *               counted; a pending path that no longer differs fails ("remove it from _pending").
 *   "_note":    free text for the reader.
 * A sample without an expected file fails ("add X.expected.json"). FERRY_CONFORMANCE_DUMP=1
 * prints what Ferry produces for each sample, to start an expected file from: check every value
 * against the sample before committing it. */
#include "codecs/codec.h"
#include "core/file.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FY_CONF_DEFAULT_TOPIC "ferry/conformance/up"
#define EXPECTED_SUFFIX ".expected.json"

int init_conformance_formats_tests(void);

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted entries of dir (without "." entries); *n receives the count. Caller frees. */
static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t cap = 0;

    *n = 0;
    if (d == NULL) {
        return NULL;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (*n == cap) {
            char **grown;
            cap = cap ? cap * 2 : 16;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                break;
            }
            names = grown;
        }
        names[(*n)++] = strdup(e->d_name);
    }
    closedir(d);
    if (names != NULL) {
        qsort(names, *n, sizeof(*names), cmp_names);
    }
    return names;
}

static void free_list(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}

static void print_json(FILE *out, const cJSON *j)
{
    char *s = j != NULL ? cJSON_PrintUnformatted(j) : NULL;

    fputs(s != NULL ? s : "(absent)", out);
    free(s);
}

/* The sample's "_pending" object while it is compared, and which of its paths differed. */
static const cJSON *pending;
static char pending_hit[32];

/* Compare want with got at path; print one line per difference. Returns the number of
 * differences. Keys of want starting with '_' are not uplink fields and are skipped. */
static int diff_json(const char *sample, const char *path, const cJSON *want, const cJSON *got)
{
    char sub[512];
    const cJSON *c;
    int diffs = 0, i, n;

    if (want != NULL && got != NULL && cJSON_IsObject(want) && cJSON_IsObject(got)) {
        cJSON_ArrayForEach(c, want) {
            if (path[0] == '\0' && c->string[0] == '_') {
                continue;
            }
            snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", c->string);
            diffs += diff_json(sample, sub, c, cJSON_GetObjectItemCaseSensitive(got, c->string));
        }
        cJSON_ArrayForEach(c, got) {
            if (cJSON_GetObjectItemCaseSensitive(want, c->string) == NULL) {
                snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", c->string);
                diffs += diff_json(sample, sub, NULL, c);
            }
        }
        return diffs;
    }
    if (want != NULL && got != NULL && cJSON_IsArray(want) && cJSON_IsArray(got)) {
        n = cJSON_GetArraySize(want) > cJSON_GetArraySize(got) ? cJSON_GetArraySize(want)
                                                                : cJSON_GetArraySize(got);
        for (i = 0; i < n; i++) {
            snprintf(sub, sizeof(sub), "%s[%d]", path, i);
            diffs += diff_json(sample, sub, cJSON_GetArrayItem(want, i),
                               cJSON_GetArrayItem(got, i));
        }
        return diffs;
    }
    if (want != NULL && got != NULL && cJSON_Compare(want, got, 1)) {
        return 0;
    }
    c = cJSON_GetObjectItemCaseSensitive(pending, path);
    fprintf(stderr, "  %s: %s: %sexpected ", sample, path, c != NULL ? "pending: " : "");
    print_json(stderr, want);
    fputs(", got ", stderr);
    print_json(stderr, got);
    if (c != NULL) {
        fprintf(stderr, " (known gap: %s)\n", cJSON_GetStringValue(c));
        for (n = 0; n < cJSON_GetArraySize(pending) && n < (int)sizeof(pending_hit); n++) {
            if (cJSON_GetArrayItem(pending, n) == c) {
                pending_hit[n] = 1;
            }
        }
        return 0;
    }
    fputs("\n", stderr);
    return 1;
}

/* Decode one sample and compare it with its expected file. Returns the number of problems. */
static int check_sample(const char *format_dir, const char *format, const char *file)
{
    const struct fy_format_plugin *fp = fy_codec_format_find(format);
    char path[1024], exp_path[1024], sample[512];
    struct fy_err err = {0};
    struct fy_msg msg = {"conformance", FY_CONF_DEFAULT_TOPIC, NULL, 0, 1, 0};
    struct fy_uplink *ups = NULL, one;
    cJSON *want = NULL, *got = cJSON_CreateArray(), *topic, *records, *error;
    char *text = NULL, *exp_text = NULL;
    size_t len, exp_len, n = 0, i;
    int rc, problems = 0;
    int dump = getenv("FERRY_CONFORMANCE_DUMP") != NULL;

    snprintf(sample, sizeof(sample), "%s/%s", format, file);
    snprintf(path, sizeof(path), "%s/%s", format_dir, file);
    snprintf(exp_path, sizeof(exp_path), "%s/%.*s" EXPECTED_SUFFIX, format_dir,
             (int)(strlen(file) - strlen(".json")), file);
    text = fy_file_read(path, 1u << 20, &len, &err);
    if (text == NULL) {
        fprintf(stderr, "  %s: cannot read: %s\n", sample, err.msg);
        cJSON_Delete(got);
        return 1;
    }
    exp_text = fy_file_read(exp_path, 1u << 20, &exp_len, NULL);
    if (exp_text == NULL && !dump) {
        fprintf(stderr, "  %s: no expected file: add %s\n", sample, exp_path);
        problems++;
        goto out;
    }
    if (exp_text != NULL) {
        want = cJSON_ParseWithLength(exp_text, exp_len);
        if (want == NULL || !cJSON_IsObject(want)) {
            fprintf(stderr, "  %s: %s is not a JSON object\n", sample, exp_path);
            problems++;
            goto out;
        }
    }
    topic = cJSON_GetObjectItemCaseSensitive(want, "_topic");
    if (cJSON_IsString(topic)) {
        msg.topic = topic->valuestring;
    }
    msg.payload = text;
    msg.len = len;
    if (fp->decode_multi != NULL) {
        rc = fp->decode_multi(&msg, &ups, &n, &err);
    } else {
        fy_uplink_init(&one);
        rc = fp->decode(&msg, &one, &err);
        if (rc == FY_OK) {
            ups = &one;
            n = 1;
        } else {
            fy_uplink_clear(&one);
        }
    }
    error = cJSON_GetObjectItemCaseSensitive(want, "_error");
    if (cJSON_IsString(error)) {
        if (rc == FY_OK || strstr(err.msg, error->valuestring) == NULL) {
            fprintf(stderr, "  %s: expected a refusal with '%s', got rc=%d '%s'\n", sample,
                    error->valuestring, rc, rc == FY_OK ? "" : err.msg);
            problems++;
        }
        goto clear;
    }
    if (rc != FY_OK) {
        fprintf(stderr, "  %s: decode failed: rc=%d %s\n", sample, rc, err.msg);
        problems++;
        goto out;
    }
    for (i = 0; i < n; i++) {
        cJSON_AddItemToArray(got, fy_uplink_to_json(&ups[i]));
    }
    if (dump) {
        char *s = cJSON_Print(n == 1 && fp->decode_multi == NULL ? cJSON_GetArrayItem(got, 0)
                                                                  : got);
        printf("\n==> %s (topic %s)\n%s\n", sample, msg.topic, s != NULL ? s : "");
        free(s);
    }
    if (want != NULL) {
        const cJSON *pe;
        int k = 0;
        pending = cJSON_GetObjectItemCaseSensitive(want, "_pending");
        memset(pending_hit, 0, sizeof(pending_hit));
        records = cJSON_GetObjectItemCaseSensitive(want, "_records");
        if (fp->decode_multi != NULL || records != NULL) {
            problems += diff_json(sample, "_records", records, got);
        } else {
            problems += diff_json(sample, "", want, cJSON_GetArrayItem(got, 0));
        }
        cJSON_ArrayForEach(pe, pending) {
            if (k < (int)sizeof(pending_hit) && !pending_hit[k]) {
                fprintf(stderr, "  %s: _pending \"%s\" no longer differs: remove it from "
                        "_pending\n", sample, pe->string);
                problems++;
            }
            k++;
        }
        pending = NULL;
    }
clear:
    for (i = 0; i < n; i++) {
        fy_uplink_clear(&ups[i]);
    }
    if (ups != &one) {
        free(ups);
    }
out:
    if (problems > 0) {
        fprintf(stderr, "  %s: %d difference(s) (expected file %s)\n", sample, problems,
                exp_path);
    }
    cJSON_Delete(want);
    cJSON_Delete(got);
    free(exp_text);
    free(text);
    return problems;
}

static void test_samples(void)
{
    char root[512], dir[1024];
    char **formats, **files;
    size_t nf, nfiles, i, j;
    int problems = 0, samples = 0;
    struct stat st;

    snprintf(root, sizeof(root), "%s/uplinks", FERRY_FIXTURES);
    formats = list_dir(root, &nf);
    FY_ASSERT_MSG(formats != NULL && nf > 0, root);
    fputs("\n", stderr);
    for (i = 0; i < nf; i++) {
        snprintf(dir, sizeof(dir), "%s/%s", root, formats[i]);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            continue; /* README.md */
        }
        if (fy_codec_format_find(formats[i]) == NULL) {
            fprintf(stderr, "  %s/: no network format named '%s' in the registry\n", formats[i],
                    formats[i]);
            problems++;
            continue;
        }
        files = list_dir(dir, &nfiles);
        for (j = 0; j < nfiles; j++) {
            if (!ends_with(files[j], ".json") || ends_with(files[j], EXPECTED_SUFFIX)) {
                continue;
            }
            samples++;
            problems += check_sample(dir, formats[i], files[j]);
        }
        /* an expected file whose sample is gone is a mistake too */
        for (j = 0; j < nfiles; j++) {
            char sample[1024];
            if (!ends_with(files[j], EXPECTED_SUFFIX)) {
                continue;
            }
            snprintf(sample, sizeof(sample), "%s/%.*s.json", dir,
                     (int)(strlen(files[j]) - strlen(EXPECTED_SUFFIX)), files[j]);
            if (stat(sample, &st) != 0) {
                fprintf(stderr, "  %s/%s: no sample beside it\n", formats[i], files[j]);
                problems++;
            }
        }
        free_list(files, nfiles);
    }
    free_list(formats, nf);
    fprintf(stderr, "  %d sample(s), %d problem(s)\n", samples, problems);
    FY_ASSERT(samples > 0);
    FY_ASSERT_EQ(problems, 0);
}

int init_conformance_formats_tests(void)
{
    CU_pSuite s = CU_add_suite("conformance-formats", NULL, NULL);

    if (s == NULL ||
        CU_add_test(s, "every sample decodes to its expected file", test_samples) == NULL) {
        return -1;
    }
    return 0;
}
