/* js_engine.cpp - SpiderMonkey behind the C interface of js_engine.h.
 *
 * DESIGN: see js_engine.h. Each struct fy_js has one engine thread that creates, uses and
 * destroys its JSContext (SpiderMonkey contexts are bound to their thread). Callers hand a
 * request over under js->mu and wait on js->cv; on time-out the caller sets js->interrupt and
 * calls JS_RequestInterruptCallback (thread-safe), whose callback returns false and so ends
 * the script with an uncatchable error. JS_Init runs once per process (pthread_once). */
#include "codecs/js/js_engine.h"

#include <js/CompilationAndEvaluation.h>
#include <js/Conversions.h>
#include <js/ErrorReport.h>
#include <js/Exception.h>
#include <js/friend/ErrorMessages.h>
#include <js/Initialization.h>
#include <js/SourceText.h>
#include <jsapi.h>

#include <atomic>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>

namespace {

/* Definitions every decoder gets before its own script: CommonJS-style names some published
 * codecs reference. Also closes the sandbox: names that are not ECMAScript (WebAssembly, the
 * engine's own helpers) are removed, and the standard names are remembered (off the
 * enumerable namespace) so that SEAL can harden exactly those after the script's top level
 * ran (its polyfills included). */
const char PRELUDE[] =
    "(function (g) {\n"
    "  ['WebAssembly', 'uneval', 'InternalError', 'SharedArrayBuffer', 'Atomics',\n"
    "   'FinalizationRegistry', 'WeakRef'].forEach(function (n) { delete g[n]; });\n"
    "  Object.defineProperty(g, '__ferry_std', { value: Object.getOwnPropertyNames(g),\n"
    "                                            configurable: true });\n"
    "})(globalThis);\n"
    "var module = { exports: {} }; var exports = module.exports;\n";

/* Evaluated after the decoder's top level, before the first message: one message must not
 * change the next message's world (docs/codecs.md, "Isolation"). Every object reachable from
 * the standard globals (constructors, prototypes, JSON, Math, iterator prototypes, ...) is
 * frozen, and the standard global bindings made read-only, so a decoder that overwrites
 * JSON.stringify, Object.keys or Object.prototype members fails for that message only (in
 * sloppy code the write is silently ignored). Assigning toString/valueOf/constructor or an
 * error's name/message on one's own objects keeps working: those inherited properties become
 * accessors whose setter defines the property on the object written to (the "override
 * mistake" of frozen prototypes). */
const char SEAL[] =
    "(function (g) {\n"
    "  var std = g.__ferry_std; delete g.__ferry_std;\n"
    "  var O = Object, freeze = O.freeze, isFrozen = O.isFrozen, def = O.defineProperty,\n"
    "      desc = O.getOwnPropertyDescriptor, own = Reflect.ownKeys, proto = O.getPrototypeOf;\n"
    "  function enable(obj, name) {\n"
    "    var d = desc(obj, name);\n"
    "    if (!d || !('value' in d) || !d.configurable) return;\n"
    "    var v = d.value;\n"
    "    def(obj, name, { configurable: false, enumerable: d.enumerable,\n"
    "      get: function () { return v; },\n"
    "      set: function (nv) {\n"
    "        if (this === obj) throw new TypeError('Cannot assign to read only property ' +\n"
    "                                              String(name));\n"
    "        def(this, name, { value: nv, writable: true, enumerable: true,\n"
    "                          configurable: true });\n"
    "      } });\n"
    "  }\n"
    "  ['toString', 'valueOf', 'toLocaleString', 'constructor', 'hasOwnProperty']\n"
    "    .forEach(function (n) { enable(O.prototype, n); });\n"
    "  ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError',\n"
    "   'URIError'].forEach(function (e) {\n"
    "    if (g[e]) ['name', 'message', 'constructor', 'toString']\n"
    "      .forEach(function (n) { enable(g[e].prototype, n); });\n"
    "  });\n"
    "  enable(Function.prototype, 'toString');\n"
    "  var seen = new Set(), queue = [];\n"
    "  function add(v) {\n"
    "    if ((typeof v === 'object' && v !== null) || typeof v === 'function') {\n"
    "      if (!seen.has(v)) { seen.add(v); queue.push(v); }\n"
    "    }\n"
    "  }\n"
    "  std.forEach(function (n) {\n"
    "    if (n === 'globalThis' || n === 'module' || n === 'exports') return;\n"
    "    var d = desc(g, n);\n"
    "    if (d && 'value' in d) add(d.value);\n"
    "  });\n"
    "  add(proto(function* () {})); add(proto(async function () {}));\n"
    "  add(proto([][Symbol.iterator]())); add(proto(''[Symbol.iterator]()));\n"
    "  add(proto(new Map()[Symbol.iterator]())); add(proto(new Set()[Symbol.iterator]()));\n"
    "  add(proto(/x/[Symbol.matchAll]('x'))); add(proto(Uint8Array));\n"
    "  while (queue.length > 0) {\n"
    "    var o = queue.pop();\n"
    "    add(proto(o));\n"
    "    own(o).forEach(function (k) {\n"
    "      var d = desc(o, k);\n"
    "      if (!d) return;\n"
    "      if ('value' in d) add(d.value); else { add(d.get); add(d.set); }\n"
    "    });\n"
    "    if (!isFrozen(o)) freeze(o);\n"
    "  }\n"
    "  std.forEach(function (n) {\n"
    "    if (n === 'globalThis' || n === 'module' || n === 'exports') return;\n"
    "    var d = desc(g, n);\n"
    "    if (d && d.configurable) def(g, n, { writable: false, configurable: false });\n"
    "  });\n"
    "})(globalThis);\n";

/* The call wrapper (kept off the enumerable global namespace); JSON.stringify and module are
 * taken once, before any message. */
const char WRAPPER[] =
    "(function (stringify, module) { return function (hex, fPort, recvTime) {\n"
    "  var bytes = new Array(hex.length / 2);\n"
    "  for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(2 * i, 2), 16);\n"
    "  var g = globalThis;\n"
    "  var dec = typeof g.decodeUplink === 'function' ? g.decodeUplink\n"
    "          : (module.exports && typeof module.exports.decodeUplink === 'function')\n"
    "            ? module.exports.decodeUplink : null;\n"
    "  var r;\n"
    "  if (dec) {\n"
    "    r = dec({ bytes: bytes, fPort: fPort, recvTime: new Date(recvTime), variables: {} });\n"
    "  } else if (typeof g.Decode === 'function') {\n"
    "    r = { data: g.Decode(fPort, bytes, {}) };\n"
    "  } else {\n"
    "    throw new Error('the script defines neither decodeUplink(input) nor Decode(fPort, bytes)');\n"
    "  }\n"
    "  if (r === null || typeof r !== 'object') throw new Error('decoder returned ' + typeof r +\n"
    "      ', expected an object {data, warnings, errors}');\n"
    "  return stringify(r);\n"
    "}; })(JSON.stringify, module)";

JSClass global_class = {"global", JSCLASS_GLOBAL_FLAGS, &JS::DefaultGlobalClassOps, nullptr,
                        nullptr, nullptr};

pthread_once_t init_once = PTHREAD_ONCE_INIT;
bool init_ok;

void engine_init()
{
    init_ok = JS_Init();
}

enum class St { Starting, Idle, Request, Done, Quit };

} // namespace

struct fy_js {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    St st;
    JSContext *cx;                 /* owned by the engine thread; read by callers to interrupt */
    std::atomic<bool> interrupt;
    std::atomic<bool> over_memory;   /* the interrupt was for the memory limit */
    int timeout_ms;
    size_t heap_bytes;
    char *script;
    size_t script_len;
    char name[128];

    /* current request (under mu) */
    const uint8_t *bytes;
    size_t n;
    int f_port;
    const char *recv_time;
    int rc;
    char *out;
    struct fy_err err;
};

namespace {

bool on_interrupt(JSContext *cx)
{
    struct fy_js *js = static_cast<struct fy_js *>(JS_GetContextPrivate(cx));
    return !js->interrupt.load();
}

/* Turn the pending exception (or its absence) into rc + message. */
int take_error(struct fy_js *js, JSContext *cx, const char *what, struct fy_err *err)
{
    if (js->interrupt.load() && js->over_memory.load()) {
        /* stopped for memory: whatever the script was throwing at that moment (an allocation
         * failing inside it under load) is a consequence, not the reason */
        JS_ClearPendingException(cx);
        JS_GC(cx);
        return fy_err_set(err, FY_ETOOBIG, "%s: stopped: memory grew past the %zu byte limit",
                          js->name, js->heap_bytes);
    }
    if (!JS_IsExceptionPending(cx)) {
        if (js->interrupt.load()) {
            return fy_err_set(err, FY_ETIMEOUT, "%s: stopped after the %d ms time limit", js->name,
                              js->timeout_ms);
        }
        JS_GC(cx);
        return fy_err_set(err, FY_ETOOBIG, "%s: %s: out of memory (heap limit %zu bytes)",
                          js->name, what, js->heap_bytes);
    }
    JS::ExceptionStack exn(cx);
    if (!JS::StealPendingExceptionStack(cx, &exn)) {
        JS_ClearPendingException(cx);
        return fy_err_set(err, FY_EDECODE, "%s: %s: exception", js->name, what);
    }
    JS::ErrorReportBuilder report(cx);
    if (!report.init(cx, exn, JS::ErrorReportBuilder::NoSideEffects)) {
        JS_ClearPendingException(cx);
        return fy_err_set(err, FY_EDECODE, "%s: %s: exception", js->name, what);
    }
    const JSErrorReport *r = report.report();
    const char *msg = report.toStringResult().c_str();
    JS_ClearPendingException(cx);
    if (r != nullptr && r->errorNumber == JSMSG_OUT_OF_MEMORY) {
        JS_GC(cx);
        return fy_err_set(err, FY_ETOOBIG, "%s: %s: out of memory (heap limit %zu bytes)",
                          js->name, what, js->heap_bytes);
    }
    if (r != nullptr && r->lineno > 0) {
        return fy_err_set(err, FY_EDECODE, "%s:%u: %s", js->name, r->lineno, msg ? msg : "error");
    }
    return fy_err_set(err, FY_EDECODE, "%s: %s", js->name, msg ? msg : "error");
}

bool evaluate(struct fy_js *js, JSContext *cx, const char *src, size_t len, const char *file,
              JS::MutableHandleValue rv, struct fy_err *err)
{
    JS::CompileOptions co(cx);
    JS::SourceText<mozilla::Utf8Unit> text;

    co.setFileAndLine(file, 1);
    if (!text.init(cx, src, len, JS::SourceOwnership::Borrowed) ||
        !JS::Evaluate(cx, co, text, rv)) {
        take_error(js, cx, "load", err);
        return false;
    }
    return true;
}

void set_state(struct fy_js *js, St st)
{
    pthread_mutex_lock(&js->mu);
    js->st = st;
    pthread_cond_broadcast(&js->cv);
    pthread_mutex_unlock(&js->mu);
}

/* Runs one decode request on the engine thread. */
void run_request(struct fy_js *js, JSContext *cx, JS::HandleObject global, JS::HandleValue fn)
{
    static const char hexd[] = "0123456789abcdef";
    JSAutoRealm ar(cx, global);
    std::string hex;
    JS::RootedValueArray<3> args(cx);
    JS::RootedValue rv(cx);
    JS::RootedString s(cx);

    hex.reserve(js->n * 2);
    for (size_t i = 0; i < js->n; i++) {
        hex.push_back(hexd[js->bytes[i] >> 4]);
        hex.push_back(hexd[js->bytes[i] & 15]);
    }
    s = JS_NewStringCopyN(cx, hex.data(), hex.size());
    if (!s) {
        js->rc = take_error(js, cx, "decode", &js->err);
        return;
    }
    args[0].setString(s);
    args[1].setInt32(js->f_port);
    s = JS_NewStringCopyZ(cx, js->recv_time ? js->recv_time : "1970-01-01T00:00:00Z");
    if (!s) {
        js->rc = take_error(js, cx, "decode", &js->err);
        return;
    }
    args[2].setString(s);
    if (!JS::Call(cx, JS::UndefinedHandleValue, fn, args, &rv)) {
        js->rc = take_error(js, cx, "decodeUplink", &js->err);
        return;
    }
    if (!rv.isString()) {
        js->rc = fy_err_set(&js->err, FY_EDECODE, "%s: result is not serializable", js->name);
        return;
    }
    s = rv.toString();
    JS::UniqueChars utf8 = JS_EncodeStringToUTF8(cx, s);
    if (!utf8) {
        js->rc = take_error(js, cx, "decode", &js->err);
        return;
    }
    js->out = strdup(utf8.get());
    js->rc = js->out ? FY_OK : fy_err_set(&js->err, FY_ENOMEM, "out of memory");
}

void *engine_main(void *arg)
{
    struct fy_js *js = static_cast<struct fy_js *>(arg);
    JSContext *cx = JS_NewContext(js->heap_bytes > UINT32_MAX ? UINT32_MAX
                                                              : (uint32_t)js->heap_bytes);
    if (cx == nullptr) {
        fy_err_set(&js->err, FY_ENOMEM, "%s: cannot create a JavaScript context", js->name);
        js->rc = FY_ENOMEM;
        set_state(js, St::Quit);
        return nullptr;
    }
    JS_SetContextPrivate(cx, js);
    JS_SetGCParameter(cx, JSGC_MAX_BYTES, js->heap_bytes > UINT32_MAX ? UINT32_MAX
                                                                      : (uint32_t)js->heap_bytes);
    JS_SetNativeStackQuota(cx, 1024 * 1024);
    js->rc = FY_OK;
    {
        bool ok = JS::InitSelfHostedCode(cx);
        JS::RealmOptions options;
        JS::RootedObject global(cx);
        JS::RootedValue rv(cx);
        JS::RootedValue fn(cx);

        if (ok) {
            global = JS_NewGlobalObject(cx, &global_class, nullptr, JS::FireOnNewGlobalHook,
                                        options);
        }
        if (!ok || !global) {
            js->rc = fy_err_set(&js->err, FY_ENOMEM, "%s: cannot create a JavaScript global",
                                js->name);
        } else {
            JSAutoRealm ar(cx, global);
            if (!JS::InitRealmStandardClasses(cx)) {
                js->rc = take_error(js, cx, "init", &js->err);
            } else if (!evaluate(js, cx, PRELUDE, sizeof(PRELUDE) - 1, "prelude", &rv, &js->err) ||
                       !evaluate(js, cx, js->script, js->script_len, js->name, &rv, &js->err) ||
                       !evaluate(js, cx, SEAL, sizeof(SEAL) - 1, "seal", &rv, &js->err) ||
                       !evaluate(js, cx, WRAPPER, sizeof(WRAPPER) - 1, "wrapper", &fn,
                                 &js->err)) {
                js->rc = js->err.code;
            }
        }
        JS_AddInterruptCallback(cx, on_interrupt);
        pthread_mutex_lock(&js->mu);
        js->cx = cx;
        js->st = js->rc == FY_OK ? St::Idle : St::Quit;
        pthread_cond_broadcast(&js->cv);
        while (js->st != St::Quit) {
            if (js->st != St::Request) {
                pthread_cond_wait(&js->cv, &js->mu);
                continue;
            }
            pthread_mutex_unlock(&js->mu);
            run_request(js, cx, global, fn);
            pthread_mutex_lock(&js->mu);
            js->st = js->st == St::Quit ? St::Quit : St::Done;
            pthread_cond_broadcast(&js->cv);
        }
        js->cx = nullptr;
        pthread_mutex_unlock(&js->mu);
    }
    JS_DestroyContext(cx);
    return nullptr;
}

/* Resident set size of the process in bytes (0 if unknown). */
size_t resident_bytes()
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;

    if (f == nullptr) {
        return 0;
    }
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) {
        rss = 0;
    }
    fclose(f);
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

} // namespace

extern "C" struct fy_js *fy_js_create(const char *script, size_t len, const char *name,
                                      int timeout_ms, size_t heap_bytes, struct fy_err *err)
{
    pthread_attr_t attr;
    struct fy_js *js;
    int rc;

    pthread_once(&init_once, engine_init);
    if (!init_ok) {
        fy_err_set(err, FY_EIO, "JavaScript engine initialization failed");
        return nullptr;
    }
    js = new (std::nothrow) fy_js();
    if (js == nullptr) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return nullptr;
    }
    pthread_mutex_init(&js->mu, nullptr);
    pthread_cond_init(&js->cv, nullptr);
    js->st = St::Starting;
    js->interrupt = false;
    js->over_memory = false;
    js->timeout_ms = timeout_ms > 0 ? timeout_ms : 100;
    js->heap_bytes = heap_bytes >= (1u << 20) ? heap_bytes : (16u << 20);
    snprintf(js->name, sizeof(js->name), "%s", name ? name : "script");
    js->script = static_cast<char *>(malloc(len + 1));
    if (js->script == nullptr) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(js->script, script, len);
    js->script[len] = '\0';
    js->script_len = len;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u << 20);
    rc = pthread_create(&js->thread, &attr, engine_main, js);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fy_err_set(err, FY_EIO, "%s: cannot start the engine thread", js->name);
        goto fail;
    }
    pthread_mutex_lock(&js->mu);
    while (js->st == St::Starting) {
        pthread_cond_wait(&js->cv, &js->mu);
    }
    pthread_mutex_unlock(&js->mu);
    if (js->st == St::Quit) {
        pthread_join(js->thread, nullptr);
        fy_err_set(err, js->rc != FY_OK ? js->rc : FY_EIO, "%s", js->err.msg);
        js->thread = 0;
        free(js->script);
        js->script = nullptr;
        pthread_mutex_destroy(&js->mu);
        pthread_cond_destroy(&js->cv);
        delete js;
        return nullptr;
    }
    return js;
fail:
    free(js->script);
    pthread_mutex_destroy(&js->mu);
    pthread_cond_destroy(&js->cv);
    delete js;
    return nullptr;
}

extern "C" int fy_js_decode(struct fy_js *js, const uint8_t *bytes, size_t n, int f_port,
                            const char *recv_time, char **out_json, struct fy_err *err)
{
    struct timespec deadline;
    size_t start_rss;
    int waited;
    int rc;

    if (js == nullptr || out_json == nullptr || (bytes == nullptr && n > 0)) {
        return fy_err_set(err, FY_EINVAL, "invalid argument");
    }
    *out_json = nullptr;
    pthread_mutex_lock(&js->mu);
    while (js->st != St::Idle && js->st != St::Quit) {
        pthread_cond_wait(&js->cv, &js->mu); /* another caller's request is running */
    }
    if (js->st == St::Quit) {
        pthread_mutex_unlock(&js->mu);
        return fy_err_set(err, FY_ECLOSED, "%s: engine stopped", js->name);
    }
    js->bytes = bytes;
    js->n = n;
    js->f_port = f_port;
    js->recv_time = recv_time;
    js->out = nullptr;
    js->rc = FY_OK;
    fy_err_clear(&js->err);
    js->interrupt = false;
    js->over_memory = false;
    js->st = St::Request;
    pthread_cond_broadcast(&js->cv);
    /* Wait in 10 ms slices: past the time limit, or when the process's resident memory grew
     * by more than the heap limit since the call began (array elements and strings live in
     * malloc memory, which JSGC_MAX_BYTES does not bound), interrupt the script. */
    start_rss = resident_bytes();
    waited = 0;
    while (js->st == St::Request) {
        deadline_after(&deadline, 10);
        if (pthread_cond_timedwait(&js->cv, &js->mu, &deadline) == 0 || js->st != St::Request ||
            js->interrupt.load()) {
            continue;
        }
        waited += 10;
        if (waited >= js->timeout_ms) {
            js->interrupt = true;
        } else if (resident_bytes() > start_rss + js->heap_bytes) {
            js->over_memory = true;
            js->interrupt = true;
        }
        if (js->interrupt.load()) {
            JS_RequestInterruptCallback(js->cx);
        }
    }
    rc = js->rc;
    if (rc == FY_OK) {
        *out_json = js->out;
    } else if (err != nullptr) {
        *err = js->err;
    }
    js->out = nullptr;
    js->st = St::Idle;
    pthread_cond_broadcast(&js->cv);
    pthread_mutex_unlock(&js->mu);
    return rc;
}

extern "C" void fy_js_destroy(struct fy_js *js)
{
    if (js == nullptr) {
        return;
    }
    pthread_mutex_lock(&js->mu);
    js->st = St::Quit;
    pthread_cond_broadcast(&js->cv);
    pthread_mutex_unlock(&js->mu);
    pthread_join(js->thread, nullptr);
    free(js->script);
    pthread_mutex_destroy(&js->mu);
    pthread_cond_destroy(&js->cv);
    delete js;
}

extern "C" void fy_js_shutdown(void)
{
    if (init_ok) {
        JS_ShutDown();
        init_ok = false;
    }
}
