/* test_conf.c - the YAML tree (positions, duplicate keys, syntax errors, aliases), ${ENV} and
 * ${file:PATH} substitution with secrets kept out of every message, and option tables (types,
 * defaults, bounds, unit suffixes, unknown keys, pass-through prefixes). */
#include "core/conf.h"
#include "core/log.h"
#include "core/opts.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int init_conf_tests(void);

#define CANARY "s3cret-canary-42"

static struct fy_node *parse(const char *y, struct fy_err *err)
{
    fy_err_clear(err);
    return fy_conf_parse(y, strlen(y), "t.yaml", err);
}

/* err->msg contains want; prints both when not. */
static void expect_msg(const struct fy_err *err, const char *want)
{
    int ok = strstr(err->msg, want) != NULL;

    if (!ok) {
        fprintf(stderr, "\n  expected: %s\n  got:      %s\n", want, err->msg);
    }
    CU_ASSERT_TRUE(ok);
}

/* Parsing y fails with FY_ECONFIG and a message containing want, and never the canary. */
static void expect_parse_error(const char *y, const char *want)
{
    struct fy_err err = {0};
    struct fy_node *root = parse(y, &err);

    CU_ASSERT_PTR_NULL(root);
    fy_conf_free(root);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    expect_msg(&err, want);
    CU_ASSERT_PTR_NULL(strstr(err.msg, CANARY));
}

/* ------------------------------------------------------------------------------------------ */
/* The tree */

static void test_tree_positions(void)
{
    const char *y = "# comment\n"
                    "name: ferry\n"
                    "journal:\n"
                    "  dir: /tmp/j\n"
                    "  fsync: always\n"
                    "list:\n"
                    "  - one\n"
                    "  - {k: v, n: 2}\n"
                    "flow: [a, b, c]\n"
                    "quoted: \"x: y\"\n";
    struct fy_err err = {0};
    struct fy_node *root = parse(y, &err);
    const struct fy_node *j, *l, *it, *f;

    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_EQ(root->type, FY_NODE_MAP);
    FY_ASSERT_EQ(root->n_children, 5);
    FY_ASSERT_STR(root->file, "t.yaml");
    FY_ASSERT_STR(fy_conf_get(root, "name")->value, "ferry");
    FY_ASSERT_EQ(fy_conf_get(root, "name")->key_line, 2);
    FY_ASSERT_EQ(fy_conf_get(root, "name")->key_col, 1);
    FY_ASSERT_EQ(fy_conf_get(root, "name")->line, 2);
    FY_ASSERT_EQ(fy_conf_get(root, "name")->col, 7);
    FY_ASSERT_EQ(fy_conf_get(root, "name")->secret, 0);

    j = fy_conf_get(root, "journal");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    FY_ASSERT_EQ(j->type, FY_NODE_MAP);
    FY_ASSERT_EQ(j->n_children, 2);
    FY_ASSERT_STR(fy_conf_get(j, "fsync")->value, "always");
    FY_ASSERT_EQ(fy_conf_get(j, "fsync")->key_line, 5);
    FY_ASSERT_EQ(fy_conf_get(j, "fsync")->key_col, 3);
    FY_ASSERT_EQ(fy_conf_get(j, "fsync")->col, 10);
    CU_ASSERT_PTR_NULL(fy_conf_get(j, "nope"));
    CU_ASSERT_PTR_NULL(fy_conf_get(fy_conf_get(j, "dir"), "x")); /* not a map */

    l = fy_conf_get(root, "list");
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    FY_ASSERT_EQ(l->type, FY_NODE_SEQ);
    FY_ASSERT_EQ(l->n_children, 2);
    it = l->child;
    FY_ASSERT_STR(it->value, "one");
    CU_ASSERT_PTR_NULL(it->key);
    FY_ASSERT_EQ(it->line, 7);
    FY_ASSERT_EQ(it->col, 5);
    it = it->next;
    FY_ASSERT_EQ(it->type, FY_NODE_MAP);
    FY_ASSERT_EQ(it->line, 8);
    FY_ASSERT_EQ(it->col, 5);
    FY_ASSERT_STR(fy_conf_get(it, "n")->value, "2");
    FY_ASSERT_EQ(fy_conf_get(it, "n")->key_col, 12);
    CU_ASSERT_PTR_NULL(it->next);

    f = fy_conf_get(root, "flow");
    FY_ASSERT_EQ(f->type, FY_NODE_SEQ);
    FY_ASSERT_EQ(f->n_children, 3);
    FY_ASSERT_STR(f->child->next->next->value, "c");
    FY_ASSERT_EQ(f->child->next->col, 11);
    FY_ASSERT_STR(fy_conf_get(root, "quoted")->value, "x: y");
    fy_conf_free(root);

    /* an empty file is an empty map; free is NULL-safe */
    root = parse("", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_EQ(root->type, FY_NODE_MAP);
    FY_ASSERT_EQ(root->n_children, 0);
    fy_conf_free(root);
    fy_conf_free(NULL);
    CU_ASSERT_PTR_NULL(fy_conf_get(NULL, "x"));
}

static void test_errors(void)
{
    struct fy_err err = {0};
    struct fy_node *root;

    expect_parse_error("a: 1\nb:\n  c: 2\n  c: 3\n",
                       "t.yaml:4:3: duplicate key 'c' (first at 3:3)");
    expect_parse_error("a: [1, 2\nb: 3\n",
                       "t.yaml:2:2: did not find expected ',' or ']' (while parsing a flow "
                       "sequence at 1:4; YAML syntax)");
    expect_parse_error("a: b: c\n", "t.yaml:1:5: mapping values are not allowed in this context "
                                    "(YAML syntax)");
    expect_parse_error("a: \"unterminated\n", "t.yaml:2:1: found unexpected end of stream");
    expect_parse_error("a: &x 1\nb: *x\n", "t.yaml:2:4: YAML alias '*x' is not supported");
    expect_parse_error("a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is allowed");
    expect_parse_error("? [a, b]\n: 1\n", "t.yaml:1:3: a map key must be a plain string");

    /* an anchor alone is harmless */
    root = parse("a: &x 1\n", &err);
    CU_ASSERT_PTR_NOT_NULL(root);
    fy_conf_free(root);

    /* fy_conf_error: value position, or key position with use_key */
    root = parse("top:\n  key:   value\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_EQ(fy_conf_error(&err, fy_conf_get(fy_conf_get(root, "top"), "key"), 0, "bad %d",
                               7), FY_ECONFIG);
    FY_ASSERT_STR(err.msg, "t.yaml:2:10: bad 7");
    fy_conf_error(&err, fy_conf_get(fy_conf_get(root, "top"), "key"), 1, "bad key");
    FY_ASSERT_STR(err.msg, "t.yaml:2:3: bad key");
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    fy_conf_free(root);

    /* files */
    root = fy_conf_load("/nonexistent/ferry.yaml", &err);
    CU_ASSERT_PTR_NULL(root);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    expect_msg(&err, "/nonexistent/ferry.yaml: cannot open");
    root = fy_conf_load(FERRY_FIXTURES "/config/good.yaml", &err);
    CU_ASSERT_PTR_NULL(root); /* it needs FERRY_TEST_SECRET */
    setenv("FERRY_TEST_SECRET", CANARY, 1);
    root = fy_conf_load(FERRY_FIXTURES "/config/good.yaml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    CU_ASSERT_PTR_NOT_NULL(strstr(root->file, "config/good.yaml"));
    FY_ASSERT_EQ(fy_conf_get(root, "instance")->line, 1);
    fy_conf_free(root);
    unsetenv("FERRY_TEST_SECRET");
}

/* ------------------------------------------------------------------------------------------ */
/* Substitution and secrets */

static void test_env(void)
{
    struct fy_err err = {0};
    struct fy_node *root;
    const struct fy_node *l;
    const char *y = "url: tcp://${FERRY_T_HOST}:${FERRY_T_PORT}/x\n"
                    "pw: ${FERRY_T_PW}\n"
                    "lit: $${NOT_A_VAR} costs $5\n"
                    "plain: no dollars\n"
                    "list:\n"
                    "  - ${FERRY_T_PW}\n";

    setenv("FERRY_T_HOST", "broker", 1);
    setenv("FERRY_T_PORT", "1883", 1);
    setenv("FERRY_T_PW", CANARY, 1);
    setenv("FERRY_T_NL", CANARY "\nline2", 1);
    unsetenv("FERRY_T_UNSET");
    root = parse(y, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_STR(fy_conf_get(root, "url")->value, "tcp://broker:1883/x");
    FY_ASSERT_EQ(fy_conf_get(root, "url")->secret, 1);
    FY_ASSERT_STR(fy_conf_get(root, "pw")->value, CANARY);
    FY_ASSERT_EQ(fy_conf_get(root, "pw")->secret, 1);
    FY_ASSERT_STR(fy_conf_get(root, "lit")->value, "${NOT_A_VAR} costs $5");
    FY_ASSERT_EQ(fy_conf_get(root, "lit")->secret, 0);
    FY_ASSERT_EQ(fy_conf_get(root, "plain")->secret, 0);
    l = fy_conf_get(root, "list");
    FY_ASSERT_STR(l->child->value, CANARY);
    FY_ASSERT_EQ(l->child->secret, 1);
    fy_conf_free(root);

    /* an empty variable is a value like any other */
    setenv("FERRY_T_EMPTY", "", 1);
    root = parse("a: x${FERRY_T_EMPTY}y\n", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_STR(fy_conf_get(root, "a")->value, "xy");
    fy_conf_free(root);

    /* errors name the variable, the key and the position, never a value */
    expect_parse_error("sinks:\n  pw: pre-${FERRY_T_UNSET}\n",
                       "t.yaml:2:7: 'pw': environment variable FERRY_T_UNSET is not set");
    expect_parse_error("a: ok\nb: ${FERRY_T_NL}\n",
                       "t.yaml:2:4: 'b': environment variable FERRY_T_NL contains a newline");
    expect_parse_error("topics:\n  - x\n  - ${FERRY_T_UNSET}\n",
                       "t.yaml:3:5: 'topics': environment variable FERRY_T_UNSET is not set");
    expect_parse_error("a: ${FERRY_T_PW}${oops\n", "t.yaml:1:4: 'a': unterminated or empty ${...}");
    expect_parse_error("a: ${}\n", "unterminated or empty ${...}");
    unsetenv("FERRY_T_NL");
}

static void test_file_secrets(void)
{
    char dir[] = "/tmp/ferry-conf-XXXXXX";
    char good[600], open_[600], yaml[2000], logbuf[4096];
    struct fy_err err = {0};
    struct fy_node *root;
    FILE *f, *log;
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(good, sizeof(good), "%s/key", dir);
    snprintf(open_, sizeof(open_), "%s/open-key", dir);
    f = fopen(good, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(CANARY "\n", f);
    fclose(f);
    chmod(good, 0600);
    f = fopen(open_, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("line1\n" CANARY "\r\n\n", f);
    fclose(f);
    chmod(open_, 0644);

    log = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    fy_log_setup(FY_LOG_WARN, log);

    snprintf(yaml, sizeof(yaml), "a: ${file:%s}\nb: user:${file:%s}\n", good, open_);
    root = parse(yaml, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    FY_ASSERT_STR(fy_conf_get(root, "a")->value, CANARY);  /* trailing newline trimmed */
    FY_ASSERT_EQ(fy_conf_get(root, "a")->secret, 1);
    FY_ASSERT_STR(fy_conf_get(root, "b")->value, "user:line1\n" CANARY);
    FY_ASSERT_EQ(fy_conf_get(root, "b")->secret, 1);
    fy_conf_free(root);

    /* one warning, for the file readable by others, naming the file but not its contents */
    fflush(log);
    rewind(log);
    n = fread(logbuf, 1, sizeof(logbuf) - 1, log);
    logbuf[n] = '\0';
    fy_log_setup(FY_LOG_WARN, NULL);
    fclose(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, open_));
    CU_ASSERT_PTR_NOT_NULL(strstr(logbuf, "644"));
    CU_ASSERT_PTR_NULL(strstr(logbuf, good));
    CU_ASSERT_PTR_NULL(strstr(logbuf, CANARY));

    /* an unreadable file is an error at the value's position */
    snprintf(yaml, sizeof(yaml), "x: 1\nkey: ${file:%s/missing}\n", dir);
    root = parse(yaml, &err);
    CU_ASSERT_PTR_NULL(root);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    expect_msg(&err, "t.yaml:2:6: 'key': cannot read secret file ");
    expect_msg(&err, "/missing: No such file or directory");

    unlink(good);
    unlink(open_);
    rmdir(dir);
}

/* ------------------------------------------------------------------------------------------ */
/* Option tables */

struct octx {
    char *brokers;
    char *topic;
    int64_t linger_ms;
    int64_t batch_bytes;
    int64_t count;
    int tls;
    int mode;
    const struct fy_node *extra;
    struct fy_kv_list rdkafka;
};

static const char *const modes[] = {"fast", "safe", NULL};

static const struct fy_opt otbl[] = {
    FY_OPT_STR("brokers", NULL, FY_REQUIRED, offsetof(struct octx, brokers), "host:port,..."),
    FY_OPT_STR("topic", "ferry", 0, offsetof(struct octx, topic), "default topic"),
    FY_OPT_INT("linger_ms", "5", 0, 60000, offsetof(struct octx, linger_ms), "batch wait"),
    FY_OPT_INT("batch_bytes", "1M", 1, 1LL << 30, offsetof(struct octx, batch_bytes), "batch"),
    FY_OPT_INT("count", "3", -5, 10, offsetof(struct octx, count), "a plain integer"),
    FY_OPT_BOOL("tls", "false", offsetof(struct octx, tls), "use TLS"),
    FY_OPT_ENUM("mode", "safe", modes, offsetof(struct octx, mode), "mode"),
    FY_OPT_NODE("extra", 0, offsetof(struct octx, extra), "anything"),
    FY_OPT_PREFIX("rdkafka.", offsetof(struct octx, rdkafka), "passed to librdkafka"),
    {0},
};

/* Apply otbl to the map under key "o" of y; returns the rc, err set. */
static int apply(const char *y, struct octx *c, struct fy_err *err)
{
    static const char *const skip[] = {"name", "type", NULL};
    struct fy_node *root = parse(y, err);
    int rc;

    memset(c, 0, sizeof(*c));
    if (root == NULL) {
        return err->code;
    }
    rc = fy_opts_apply(otbl, fy_conf_get(root, "o"), skip, c, err);
    /* nodes borrowed from the tree must not outlive it */
    c->extra = NULL;
    fy_conf_free(root);
    return rc;
}

static void expect_opts_error(const char *y, const char *want)
{
    struct octx c;
    struct fy_err err = {0};

    FY_ASSERT_EQ(apply(y, &c, &err), FY_ECONFIG);
    fy_opts_free(otbl, &c);
    expect_msg(&err, want);
    CU_ASSERT_PTR_NULL(strstr(err.msg, CANARY));
}

static void test_opts_values(void)
{
    struct octx c;
    struct fy_err err = {0};
    const char *y = "o:\n"
                    "  name: k\n"
                    "  type: kafka\n"
                    "  brokers: a:1,b:2\n"
                    "  linger_ms: 2s\n"
                    "  batch_bytes: 64k\n"
                    "  count: -5\n"
                    "  tls: yes\n"
                    "  mode: fast\n"
                    "  extra: {x: 1}\n"
                    "  rdkafka.linger.ms: 7\n"
                    "  rdkafka:\n"
                    "    socket.timeout.ms: ${FERRY_T_PW}\n";

    setenv("FERRY_T_PW", CANARY, 1);
    FY_ASSERT_OK(apply(y, &c, &err), &err);
    FY_ASSERT_STR(c.brokers, "a:1,b:2");
    FY_ASSERT_STR(c.topic, "ferry"); /* default */
    FY_ASSERT_EQ(c.linger_ms, 2000);
    FY_ASSERT_EQ(c.batch_bytes, 64 * 1024);
    FY_ASSERT_EQ(c.count, -5);
    FY_ASSERT_EQ(c.tls, 1);
    FY_ASSERT_EQ(c.mode, 0);
    FY_ASSERT_EQ(c.rdkafka.n, 2);
    if (c.rdkafka.n == 2) {
        FY_ASSERT_STR(c.rdkafka.items[0].key, "linger.ms");
        FY_ASSERT_STR(c.rdkafka.items[0].value, "7");
        FY_ASSERT_EQ(c.rdkafka.items[0].line, 11);
        FY_ASSERT_EQ(c.rdkafka.items[0].col, 22);
        FY_ASSERT_EQ(c.rdkafka.items[0].secret, 0);
        FY_ASSERT_STR(c.rdkafka.items[1].key, "socket.timeout.ms");
        FY_ASSERT_STR(c.rdkafka.items[1].value, CANARY);
        FY_ASSERT_EQ(c.rdkafka.items[1].secret, 1);
    }
    fy_opts_free(otbl, &c);
    CU_ASSERT_PTR_NULL(c.brokers);
    CU_ASSERT_PTR_NULL(c.rdkafka.items);
    FY_ASSERT_EQ(c.rdkafka.n, 0);
    fy_opts_free(otbl, &c); /* twice is harmless */
    fy_opts_free(NULL, &c);

    /* every default; unit suffixes */
    FY_ASSERT_OK(apply("o: {brokers: x, linger_ms: 1m, batch_bytes: 1G}\n", &c, &err), &err);
    FY_ASSERT_EQ(c.linger_ms, 60000);
    FY_ASSERT_EQ(c.batch_bytes, 1LL << 30);
    FY_ASSERT_EQ(c.count, 3);
    FY_ASSERT_EQ(c.tls, 0);
    FY_ASSERT_EQ(c.mode, 1);
    FY_ASSERT_EQ(c.rdkafka.n, 0);
    fy_opts_free(otbl, &c);
    FY_ASSERT_OK(apply("o: {brokers: x, linger_ms: 250ms, batch_bytes: 3M, tls: off}\n", &c,
                       &err), &err);
    FY_ASSERT_EQ(c.linger_ms, 250);
    FY_ASSERT_EQ(c.batch_bytes, 3 << 20);
    FY_ASSERT_EQ(c.tls, 0);
    fy_opts_free(otbl, &c);
}

static void test_opts_errors(void)
{
    setenv("FERRY_T_PW", CANARY, 1);
    expect_opts_error("o:\n  brokres: x\n",
                      "t.yaml:2:3: unknown option 'brokres' (valid: brokers, topic, linger_ms, "
                      "batch_bytes, count, tls, mode, extra, rdkafka.*)");
    expect_opts_error("o:\n  topic: x\n",
                      "t.yaml:1:1: missing required option 'brokers' (host:port,...)");
    expect_opts_error("o:\n  brokers: {a: 1}\n",
                      "t.yaml:2:12: 'brokers': expected a string, got a map");
    expect_opts_error("o: {brokers: [a]}\n",
                      "t.yaml:1:14: 'brokers': expected a string, got a list");
    expect_opts_error("o: {brokers: x, count: 11}\n",
                      "t.yaml:1:24: 'count' is 11, out of range (expected -5..10)");
    expect_opts_error("o: {brokers: x, count: 1k}\n", "'count': '1k' is not a valid integer");
    expect_opts_error("o: {brokers: x, count: 0x10}\n", "'count': '0x10' is not a valid integer");
    expect_opts_error("o: {brokers: x, linger_ms: 5k}\n",
                      "'linger_ms': '5k' is not a valid integer (suffixes: ms, s, m, h)");
    expect_opts_error("o: {brokers: x, linger_ms: 2m}\n",
                      "'linger_ms' is 120000, out of range (expected 0..60000)");
    expect_opts_error("o: {brokers: x, batch_bytes: 5s}\n",
                      "'batch_bytes': '5s' is not a valid integer (suffixes: k, M, G)");
    expect_opts_error("o: {brokers: x, batch_bytes: 99999999999999999999}\n",
                      "'batch_bytes': '99999999999999999999' is not a valid integer");
    expect_opts_error("o: {brokers: x, tls: maybe}\n",
                      "'tls': 'maybe' is not a boolean (expected true or false)");
    expect_opts_error("o: {brokers: x, mode: quick}\n",
                      "'mode': unknown value 'quick' (expected one of: fast, safe)");
    expect_opts_error("o: {brokers: x, rdkafka.acks: [1]}\n",
                      "'rdkafka.acks': expected a scalar, got a list");
    expect_opts_error("o: {brokers: x, rdkafka: [1]}\n",
                      "'rdkafka': expected a map of name: value, got a list");
    expect_opts_error("o: {brokers: x, rdkafka: {a: {b: 1}}}\n",
                      "'rdkafka.a': expected a scalar, got a map");
    expect_opts_error("o:\n  brokers: x\n  rdkafka.acks: 1\n  rdkafka: {acks: all}\n",
                      "t.yaml:4:19: 'rdkafka.acks' is given twice (first at 3:17)");
    expect_opts_error("o: [1]\n", "t.yaml:1:4: expected a map of options, got a list");
    /* a secret value never appears, whatever is wrong with it */
    expect_opts_error("o: {brokers: x, mode: '${FERRY_T_PW}'}\n",
                      "'mode': unknown value '(secret, not shown)'");
    expect_opts_error("o: {brokers: x, tls: '${FERRY_T_PW}'}\n",
                      "'tls': '(secret, not shown)' is not a boolean");
    expect_opts_error("o: {brokers: x, count: '${FERRY_T_PW}'}\n",
                      "'count': '(secret, not shown)' is not a valid integer");
    setenv("FERRY_T_NUM", "12", 1);
    expect_opts_error("o: {brokers: x, count: '${FERRY_T_NUM}'}\n",
                      "'count' is out of range (expected -5..10)");
}

int init_conf_tests(void)
{
    CU_pSuite s = CU_add_suite("conf", NULL, NULL);

    if (s == NULL || CU_add_test(s, "tree and positions", test_tree_positions) == NULL ||
        CU_add_test(s, "syntax, duplicate keys, aliases", test_errors) == NULL ||
        CU_add_test(s, "${ENV} substitution", test_env) == NULL ||
        CU_add_test(s, "${file:PATH} secrets", test_file_secrets) == NULL ||
        CU_add_test(s, "option values and defaults", test_opts_values) == NULL ||
        CU_add_test(s, "option errors", test_opts_errors) == NULL) {
        return -1;
    }
    return 0;
}
