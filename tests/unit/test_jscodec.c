/* test_jscodec.c - the JavaScript engine behind the `javascript` codec: TTN and ChirpStack
 * script conventions, our own device decoders against published examples, and the limits:
 * exceptions, endless loops (time limit), unbounded allocation (heap limit), deep recursion,
 * syntax errors. */
#include "core/file.h"
#include "core/clock.h"
#include "codecs/js/js_engine.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int init_jscodec_tests(void);

static struct fy_js *load_str(const char *src, int timeout_ms, size_t heap, struct fy_err *err)
{
    return fy_js_create(src, strlen(src), "inline.js", timeout_ms, heap, err);
}

static char *slurp(const char *path)
{
    return fy_file_read(path, 1u << 20, NULL, NULL);
}

/* Every fixture script against its published examples (tests/fixtures/js/vectors.json). */
static void test_fixture_vectors(void)
{
    char *text = slurp(FERRY_FIXTURES "/js/vectors.json");
    cJSON *arr = cJSON_Parse(text);
    cJSON *v;
    int n = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
    cJSON_ArrayForEach(v, arr)
    {
        char path[512];
        const char *script = cJSON_GetObjectItem(v, "script")->valuestring;
        const char *hex = cJSON_GetObjectItem(v, "hex")->valuestring;
        cJSON *expected = cJSON_GetObjectItem(v, "expected");
        unsigned char bytes[64];
        size_t nb = strlen(hex) / 2, i;
        struct fy_err err = {0};
        struct fy_js *js;
        char *src;
        char *out = NULL;
        cJSON *got;

        snprintf(path, sizeof(path), "%s/js/%s", FERRY_FIXTURES, script);
        src = slurp(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(src);
        js = fy_js_create(src, strlen(src), script, 100, 16u << 20, &err);
        free(src);
        if (js == NULL) {
            fprintf(stderr, "\n%s: %s\n", script, err.msg);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(js);
        for (i = 0; i < nb; i++) {
            unsigned int x;
            sscanf(hex + 2 * i, "%2x", &x);
            bytes[i] = (unsigned char)x;
        }
        FY_ASSERT_OK(fy_js_decode(js, bytes, nb, cJSON_GetObjectItem(v, "fPort")->valueint,
                                  "2026-11-24T10:00:00Z", &out, &err), &err);
        got = cJSON_Parse(out);
        CU_ASSERT_PTR_NOT_NULL(got);
        {
            cJSON *gd = cJSON_GetObjectItem(got, "data");
            cJSON *ed = cJSON_GetObjectItem(expected, "data");
            cJSON *ge = cJSON_GetObjectItem(got, "errors");
            cJSON *ee = cJSON_GetObjectItem(expected, "errors");
            int ok = ed != NULL ? (gd != NULL && cJSON_Compare(gd, ed, 1))
                                : (ge != NULL && cJSON_Compare(ge, ee, 1));
            if (!ok) {
                fprintf(stderr, "\n%s %s: got %s\n", script, hex, out);
            }
            CU_ASSERT_TRUE(ok);
        }
        cJSON_Delete(got);
        free(out);
        fy_js_destroy(js);
        n++;
    }
    FY_ASSERT_EQ(n, 7);
    cJSON_Delete(arr);
    free(text);
}

static void test_input_shape(void)
{
    /* TTN input: bytes is an Array of numbers, fPort a number, recvTime a Date. */
    const char *src =
        "function decodeUplink(input) {\n"
        "  return { data: { isArray: Array.isArray(input.bytes), sum: input.bytes.reduce((a, b) => a + b, 0),\n"
        "    port: input.fPort, year: input.recvTime.getUTCFullYear(), n: input.bytes.length } };\n"
        "}\n";
    struct fy_err err = {0};
    struct fy_js *js = load_str(src, 100, 16u << 20, &err);
    const unsigned char bytes[] = {1, 2, 3, 250};
    char *out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    FY_ASSERT_OK(fy_js_decode(js, bytes, sizeof(bytes), 9, "2026-11-24T10:00:00Z", &out, &err),
                 &err);
    FY_ASSERT_STR(out, "{\"data\":{\"isArray\":true,\"sum\":256,\"port\":9,\"year\":2026,\"n\":4}}");
    free(out);
    /* an empty payload is a valid input */
    FY_ASSERT_OK(fy_js_decode(js, NULL, 0, 1, NULL, &out, &err), &err);
    FY_ASSERT_STR(out, "{\"data\":{\"isArray\":true,\"sum\":0,\"port\":1,\"year\":1970,\"n\":0}}");
    free(out);
    fy_js_destroy(js);
}

static void test_throw(void)
{
    struct fy_err err = {0};
    struct fy_js *js = load_str("function decodeUplink(input) {\n  null.x = 1;\n}\n", 100,
                                16u << 20, &err);
    char *out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    FY_ASSERT_EQ(fy_js_decode(js, (const unsigned char *)"\x01", 1, 1, NULL, &out, &err),
                 FY_EDECODE);
    CU_ASSERT_PTR_NULL(out);
    /* the message names the script and line */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inline.js:2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "TypeError"));
    fy_js_destroy(js);
}

static void test_endless_loop_is_stopped(void)
{
    struct fy_err err = {0};
    struct fy_js *js = load_str(
        "function decodeUplink(input) { if (input.fPort === 1) { while (true) {} }\n"
        "  return { data: { ok: true } }; }\n", 100, 16u << 20, &err);
    char *out = NULL;
    double t0, took;

    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    t0 = (double)fy_clock_mono_ms();
    FY_ASSERT_EQ(fy_js_decode(js, (const unsigned char *)"\x01", 1, 1, NULL, &out, &err),
                 FY_ETIMEOUT);
    took = (double)fy_clock_mono_ms() - t0;
    CU_ASSERT_TRUE(took >= 95 && took < 1000);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "100 ms"));
    /* the engine stays usable after an interrupted call */
    FY_ASSERT_OK(fy_js_decode(js, (const unsigned char *)"\x01", 1, 2, NULL, &out, &err), &err);
    FY_ASSERT_STR(out, "{\"data\":{\"ok\":true}}");
    free(out);
    fy_js_destroy(js);
}

static void check_allocation_stopped(const char *loop)
{
    char src[512];
    struct fy_err err = {0};
    struct fy_js *js;
    char *out = NULL;
    double t0;

    snprintf(src, sizeof(src),
             "function decodeUplink(input) { if (input.fPort === 1) { var a = [];\n"
             "  while (true) { %s } }\n"
             "  return { data: { ok: true } }; }\n", loop);
    js = load_str(src, 5000, 16u << 20, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    t0 = (double)fy_clock_mono_ms();
    FY_ASSERT_EQ(fy_js_decode(js, (const unsigned char *)"\x01", 1, 1, NULL, &out, &err),
                 FY_ETOOBIG);
    /* stopped by the memory limit, well before the 5 s time limit */
    CU_ASSERT_TRUE((double)fy_clock_mono_ms() - t0 < 4000);
    CU_ASSERT_PTR_NULL(out);
    FY_ASSERT_OK(fy_js_decode(js, (const unsigned char *)"\x01", 1, 2, NULL, &out, &err), &err);
    FY_ASSERT_STR(out, "{\"data\":{\"ok\":true}}");
    free(out);
    fy_js_destroy(js);
}

static void test_unbounded_allocation_is_stopped(void)
{
    check_allocation_stopped("a.push(new Array(100000).fill(1.5));"); /* malloc'ed elements */
    check_allocation_stopped("a.push({ x: a.length, y: [a.length] });"); /* GC heap objects */
    check_allocation_stopped("a.push('x'.repeat(65536) + a.length);");   /* strings */
}

static void test_deep_recursion(void)
{
    struct fy_err err = {0};
    struct fy_js *js = load_str("function f(n) { return f(n + 1) + 1; }\n"
                                "function decodeUplink(input) { return { data: f(0) }; }\n",
                                1000, 16u << 20, &err);
    char *out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    FY_ASSERT_EQ(fy_js_decode(js, (const unsigned char *)"\x01", 1, 1, NULL, &out, &err),
                 FY_EDECODE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "recursion"));
    fy_js_destroy(js);
}

static void test_load_errors(void)
{
    struct fy_err err = {0};

    CU_ASSERT_PTR_NULL(load_str("function decodeUplink(input) {\n  return {;\n}\n", 100,
                                16u << 20, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "inline.js:2"));
    CU_ASSERT_PTR_NULL(load_str("throw new Error('boom at load');", 100, 16u << 20, &err));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "boom at load"));
    /* no entry point: fails at decode time with a clear message */
    {
        struct fy_js *js = load_str("var x = 1;", 100, 16u << 20, &err);
        char *out = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(js);
        FY_ASSERT_EQ(fy_js_decode(js, NULL, 0, 1, NULL, &out, &err), FY_EDECODE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "neither decodeUplink"));
        fy_js_destroy(js);
    }
}

static void test_no_io(void)
{
    struct fy_err err = {0};
    struct fy_js *js = load_str(
        "function decodeUplink(input) { return { data: { require: typeof require,\n"
        "  print: typeof print, os: typeof os, load: typeof load, fetch: typeof fetch,\n"
        "  setTimeout: typeof setTimeout } }; }\n", 100, 16u << 20, &err);
    char *out = NULL;

    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    FY_ASSERT_OK(fy_js_decode(js, NULL, 0, 1, NULL, &out, &err), &err);
    FY_ASSERT_STR(out, "{\"data\":{\"require\":\"undefined\",\"print\":\"undefined\",\"os\":"
                       "\"undefined\",\"load\":\"undefined\",\"fetch\":\"undefined\","
                       "\"setTimeout\":\"undefined\"}}");
    free(out);
    fy_js_destroy(js);
}

static int cleanup(void)
{
    fy_js_shutdown();
    return 0;
}


/* One message must not change the next message's world (issue 15): fPort 1 overwrites
 * intrinsics and standard globals in every way a decoder can; fPort 2, on the same engine,
 * must still see the originals. Sloppy code: the writes are ignored; strict: they throw. */
static void test_isolation(void)
{
    static const char *const scripts[] = {
        "function decodeUplink(input) {\n"
        "  if (input.fPort === 1) {\n"
        "    JSON.stringify = function () { return 'pwned'; };\n"
        "    Object.keys = function () { return []; };\n"
        "    Object.prototype.polluted = 1;\n"
        "    Array.prototype.map = null;\n"
        "    try { globalThis.JSON = { stringify: function () { return 'x'; } }; } catch (e) {}\n"
        "    Math = null; parseInt = null;\n"
        "    return { data: { step: 1 } };\n"
        "  }\n"
        "  var o = { a: 1, b: 2 };\n"
        "  o.toString = function () { return 'mine'; };\n"
        "  var e = new Error('x'); e.name = 'MyError';\n"
        "  return { data: { keys: Object.keys({ a: 1 }).concat(Object.keys(o).slice(1)).join(','),\n"
        "                  polluted: ({}).polluted === undefined,\n"
        "                  mapped: [1, 2].map(function (x) { return x * 2; }),\n"
        "                  json: JSON.stringify([1]), max: Math.max(1, 3), n: parseInt('7'),\n"
        "                  s: String(o), ename: e.name } };\n"
        "}\n",
        "'use strict';\n"
        "function decodeUplink(input) {\n"
        "  if (input.fPort === 1) { JSON.stringify = null; return { data: {} }; }\n"
        "  return { data: { keys: Object.keys({ a: 1, b: 2, toString: 0 }).join(','),\n"
        "                  polluted: true,\n"
        "                  mapped: [2, 4], json: JSON.stringify([1]), max: 3, n: 7, s: 'mine',\n"
        "                  ename: 'MyError' } };\n"
        "}\n",
    };
    size_t k;

    for (k = 0; k < 2; k++) {
        struct fy_err err = {0};
        struct fy_js *js = load_str(scripts[k], 500, 16u << 20, &err);
        unsigned char b = 0;
        char *out = NULL;
        int rc;

        FY_ASSERT_MSG(js != NULL, err.msg);
        rc = fy_js_decode(js, &b, 1, 1, NULL, &out, &err);
        /* sloppy: accepted; strict: that message fails, with a reason */
        FY_ASSERT(k == 0 ? rc == FY_OK : rc == FY_EDECODE);
        free(out);
        out = NULL;
        FY_ASSERT_OK(fy_js_decode(js, &b, 1, 2, NULL, &out, &err), &err);
        FY_ASSERT_STR(out, "{\"data\":{\"keys\":\"a,b,toString\",\"polluted\":true,\"mapped\":[2,4],"
                           "\"json\":\"[1]\",\"max\":3,\"n\":7,\"s\":\"mine\","
                           "\"ename\":\"MyError\"}}");
        free(out);
        fy_js_destroy(js);
    }
}

/* The global object holds ECMAScript's standard names and the CommonJS pair, nothing else:
 * a name that appears here (an engine upgrade exposing a new host object) fails the test. */
static void test_globals(void)
{
    static const char src[] =
        "function decodeUplink(input) {\n"
        "  return { data: { names: Object.getOwnPropertyNames(globalThis).sort().join(' ') } };\n"
        "}\n";
    static const char expected[] =
        "{\"data\":{\"names\":\"AggregateError Array ArrayBuffer BigInt BigInt64Array "
        "BigUint64Array Boolean DataView Date Error EvalError Float32Array Float64Array Function "
        "Infinity Int16Array Int32Array Int8Array Intl JSON Map Math NaN Number Object Promise "
        "Proxy RangeError ReferenceError Reflect RegExp Set String Symbol SyntaxError TypeError "
        "URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakSet "
        "decodeURI decodeURIComponent decodeUplink encodeURI encodeURIComponent escape eval "
        "exports globalThis isFinite isNaN module parseFloat parseInt undefined unescape\"}}";
    struct fy_err err = {0};
    struct fy_js *js = load_str(src, 500, 16u << 20, &err);
    unsigned char b = 0;
    char *out = NULL;

    FY_ASSERT_MSG(js != NULL, err.msg);
    FY_ASSERT_OK(fy_js_decode(js, &b, 1, 1, NULL, &out, &err), &err);
    FY_ASSERT_STR(out, expected);
    free(out);
    fy_js_destroy(js);
}

int init_jscodec_tests(void)
{
    CU_pSuite s = CU_add_suite("jscodec", NULL, cleanup);

    if (s == NULL ||
        CU_add_test(s, "own decoders vs published examples", test_fixture_vectors) == NULL ||
        CU_add_test(s, "TTN input shape", test_input_shape) == NULL ||
        CU_add_test(s, "exception -> FY_EDECODE with line", test_throw) == NULL ||
        CU_add_test(s, "endless loop stopped by the time limit", test_endless_loop_is_stopped) ==
            NULL ||
        CU_add_test(s, "unbounded allocation stopped by the heap limit",
                    test_unbounded_allocation_is_stopped) == NULL ||
        CU_add_test(s, "deep recursion", test_deep_recursion) == NULL ||
        CU_add_test(s, "load errors", test_load_errors) == NULL ||
        CU_add_test(s, "no I/O in scripts", test_no_io) == NULL ||
        CU_add_test(s, "one message cannot change the next one's world", test_isolation) == NULL ||
        CU_add_test(s, "global names", test_globals) == NULL) {
        return -1;
    }
    return 0;
}
