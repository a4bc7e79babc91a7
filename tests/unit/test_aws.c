/* test_aws.c - the AWS credential chain: its order, the shared credentials file, secrets kept
 * out of every message, and web identity against a stand-in STS.
 *
 * The STS here is a stand-in: no real STS is reachable from the tests. It is a libmicrohttpd
 * server on 127.0.0.1 (port 0) that answers AssumeRoleWithWebIdentity with the XML AWS
 * documents (API Reference, AssumeRoleWithWebIdentity, "Examples"), or with STS's error
 * document, counts the requests and keeps the form fields of the last one. */
#include "core/http/aws.h"
#include "core/buf.h"
#include "core/clock.h"
#include "tests/unit/assert.h"

#include <CUnit/CUnit.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int init_aws_tests(void);

/* Canaries: none of these may ever appear in an error message or a description. */
#define CANARY_SECRET "CANARYsecretCANARYsecret/0123456789abcd"
#define CANARY_TOKEN "CANARYtokenCANARYtoken+sessionTOKENvalue=="
#define CANARY_JWT "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUllqd3QifQ.CANARYjwtSIGNATUREpart"

/* ==== an environment the resolver reads instead of the process's ==== */

struct fake_env {
    const char *kv[24][2];
    size_t n;
};

static const char *fake_getenv(const char *name, void *arg)
{
    const struct fake_env *fe = arg;
    size_t i;

    for (i = 0; i < fe->n; i++) {
        if (strcmp(fe->kv[i][0], name) == 0) {
            return fe->kv[i][1];
        }
    }
    return NULL;
}

static void env_set(struct fake_env *fe, const char *name, const char *value)
{
    fe->kv[fe->n][0] = name;
    fe->kv[fe->n][1] = value;
    fe->n++;
}

/* A scratch directory that plays $HOME (so the real ~/.aws is never read). */
struct scratch {
    char home[64];
    char file[128];   /* <home>/.aws/credentials */
    char token[128];  /* <home>/token */
};

static void scratch_make(struct scratch *s)
{
    char dir[160];

    snprintf(s->home, sizeof(s->home), "/tmp/ferry-aws-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(s->home));
    snprintf(dir, sizeof(dir), "%s/.aws", s->home);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    snprintf(s->file, sizeof(s->file), "%s/credentials", dir);
    snprintf(s->token, sizeof(s->token), "%s/token", s->home);
}

static void scratch_drop(struct scratch *s)
{
    char dir[160];

    unlink(s->file);
    unlink(s->token);
    snprintf(dir, sizeof(dir), "%s/.aws", s->home);
    rmdir(dir);
    rmdir(s->home);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static const char *const CRED_FILE =
    "# Ferry test credentials\n"
    "; another comment style\n"
    "\n"
    "[default]\n"
    "aws_access_key_id = AKIAFILEDEFAULT0001\n"
    "aws_secret_access_key=" CANARY_SECRET "\n"
    "region = eu-west-1\n"
    "\n"
    "  [ prod ]  \r\n"
    "\taws_access_key_id\t=\tAKIAFILEPROD00000002\r\n"
    "  # aws_access_key_id = AKIACOMMENTEDOUT0000\r\n"
    "aws_secret_access_key = prod/secret+value\r\n"
    "aws_session_token = " CANARY_TOKEN "\r\n"
    "[halfkey]\n"
    "aws_access_key_id = AKIAHALFKEY000000003\n"
    "[rolesonly]\n"
    "role_arn = arn:aws:iam::123456789012:role/x\n"
    "source_profile = default\n";

static void conf_init(struct fy_aws_auth_conf *c, struct fake_env *fe, struct scratch *s)
{
    memset(c, 0, sizeof(*c));
    memset(fe, 0, sizeof(*fe));
    env_set(fe, "HOME", s->home);
    c->getenv_fn = fake_getenv;
    c->getenv_arg = fe;
    c->tag = "test:aws";
}

/* No message and no description may show a secret, a session token or the JWT. */
static int clean(const char *s)
{
    return strstr(s, "CANARY") == NULL && strstr(s, "prod/secret") == NULL &&
           strstr(s, "eyJ") == NULL;
}

/* ==== the order of the chain ==== */

static void test_config_wins(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    char d[256];

    scratch_make(&s);
    write_file(s.file, CRED_FILE);
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00004");
    env_set(&fe, "AWS_SECRET_ACCESS_KEY", "env-secret");
    c.key_id = "AKIACONFIGKEY0000005";
    c.secret = CANARY_SECRET;
    c.session_token = CANARY_TOKEN;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "config");
    FY_ASSERT_STR(cr.key_id, "AKIACONFIGKEY0000005");
    FY_ASSERT_STR(cr.secret, CANARY_SECRET);
    FY_ASSERT_STR(cr.token, CANARY_TOKEN);
    FY_ASSERT_EQ(cr.expires_wall_ms, 0);
    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT_STR(d, "credentials from config (key AKIA...0005, with a session token)");
    FY_ASSERT_EQ(fy_aws_auth_fetches(a), 0);
    fy_aws_creds_clear(&cr);
    FY_ASSERT_EQ(cr.key_id[0], 0);
    fy_aws_auth_destroy(a);

    /* half a key pair in the config is a mistake to report, not a reason to look elsewhere */
    c.session_token = NULL;
    c.key_id = NULL;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "secret access key is set but the access key id is not") != NULL);
    FY_ASSERT(clean(err.msg));
    scratch_drop(&s);
}

static void test_env_over_file(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    char d[256];

    scratch_make(&s);
    write_file(s.file, CRED_FILE);
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_ACCESS_KEY_ID", "ASIAENVIRONMENT00006");
    env_set(&fe, "AWS_SECRET_ACCESS_KEY", CANARY_SECRET);
    env_set(&fe, "AWS_SESSION_TOKEN", CANARY_TOKEN);
    env_set(&fe, "AWS_WEB_IDENTITY_TOKEN_FILE", s.token);
    env_set(&fe, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/never");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "env");
    FY_ASSERT_STR(cr.key_id, "ASIAENVIRONMENT00006");
    FY_ASSERT_STR(cr.token, CANARY_TOKEN);
    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT_STR(d, "credentials from env (key ASIA...0006, with a session token)");
    fy_aws_auth_destroy(a);

    /* a key id without its secret in the environment is skipped: the file's default wins */
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00007");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "profile:default");
    FY_ASSERT_STR(cr.key_id, "AKIAFILEDEFAULT0001");
    fy_aws_creds_clear(&cr);
    fy_aws_auth_destroy(a);
    scratch_drop(&s);
}

/* ==== the shared credentials file ==== */

static void test_profiles(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    char d[256], other[200];

    scratch_make(&s);
    write_file(s.file, CRED_FILE);

    /* default: $HOME/.aws/credentials, [default], no spaces around the second = */
    conf_init(&c, &fe, &s);
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "profile:default");
    FY_ASSERT_STR(cr.key_id, "AKIAFILEDEFAULT0001");
    FY_ASSERT_STR(cr.secret, CANARY_SECRET);
    FY_ASSERT_STR(cr.token, "");
    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT_STR(d, "credentials from profile:default (key AKIA...0001)");
    fy_aws_auth_destroy(a);

    /* named by the config: tabs, CRLF, a blank-padded header, a commented-out key */
    c.profile = "prod";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "profile:prod");
    FY_ASSERT_STR(cr.key_id, "AKIAFILEPROD00000002");
    FY_ASSERT_STR(cr.secret, "prod/secret+value");
    FY_ASSERT_STR(cr.token, CANARY_TOKEN);
    fy_aws_auth_destroy(a);

    /* named by $AWS_PROFILE, file from $AWS_SHARED_CREDENTIALS_FILE (HOME is not used) */
    snprintf(other, sizeof(other), "%s/other-credentials", s.home);
    write_file(other, "[ci]\naws_access_key_id = AKIAOTHERFILE0000008\n"
                      "aws_secret_access_key = x\n");
    memset(&fe, 0, sizeof(fe));
    env_set(&fe, "AWS_PROFILE", "ci");
    env_set(&fe, "AWS_SHARED_CREDENTIALS_FILE", other);
    c.profile = NULL;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_STR(cr.source, "profile:ci");
    FY_ASSERT_STR(cr.key_id, "AKIAOTHERFILE0000008");
    fy_aws_auth_destroy(a);
    unlink(other);

    /* the config's credentials_file wins over the environment's */
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    c.credentials_file = s.file;
    c.profile = "prod";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    fy_aws_auth_destroy(a);
    fy_aws_creds_clear(&cr);
    scratch_drop(&s);
}

static void test_profile_errors(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_err err = {0};

    scratch_make(&s);
    write_file(s.file, CRED_FILE);

    /* a profile asked for but absent: the profile, the file, and what is there */
    conf_init(&c, &fe, &s);
    c.profile = "staging";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "'staging'") != NULL);
    FY_ASSERT(strstr(err.msg, s.file) != NULL);
    FY_ASSERT(strstr(err.msg, "profiles there: default, prod, halfkey, rolesonly") != NULL);
    FY_ASSERT(clean(err.msg));

    /* the same through AWS_PROFILE, which the message names as the asker */
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_PROFILE", "staging");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT(strstr(err.msg, "asked for by AWS_PROFILE") != NULL);

    /* half a key pair: which key is missing, where */
    conf_init(&c, &fe, &s);
    c.profile = "halfkey";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "has aws_access_key_id but no aws_secret_access_key") != NULL);
    FY_ASSERT(strstr(err.msg, ":14") != NULL); /* the [halfkey] line */

    /* a profile of roles only: not supported, said so */
    c.profile = "rolesonly";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT(strstr(err.msg, "role_arn") != NULL);

    /* an explicit profile and no file at all: an error naming the path */
    unlink(s.file);
    c.profile = "prod";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, s.file) != NULL && strstr(err.msg, "does not exist") != NULL);

    /* the default profile and no file: not an error by itself; nothing anywhere is */
    c.profile = NULL;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "no AWS credentials") != NULL);
    FY_ASSERT(strstr(err.msg, s.file) != NULL);

    /* ...and with web identity configured, the chain goes on to it */
    env_set(&fe, "AWS_WEB_IDENTITY_TOKEN_FILE", s.token);
    env_set(&fe, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ferry");
    env_set(&fe, "AWS_REGION", "eu-west-1");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    fy_aws_auth_destroy(a);

    /* a malformed line inside the profile: file:line, never the line's text */
    write_file(s.file, "[default]\naws_access_key_id = AKIAX\n" CANARY_SECRET "\n");
    conf_init(&c, &fe, &s);
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT(strstr(err.msg, ":3: in [default]: expected 'name = value'") != NULL);
    FY_ASSERT(clean(err.msg));
    scratch_drop(&s);
}

/* Every error the chain can give about static credentials, with canaries everywhere. */
static void test_no_secret_in_errors(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_err err = {0};
    char longkey[400];

    scratch_make(&s);
    write_file(s.file, CRED_FILE);

    conf_init(&c, &fe, &s);
    c.secret = CANARY_SECRET;
    c.session_token = CANARY_TOKEN;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL && err.code == FY_ECONFIG && clean(err.msg));

    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_SECRET_ACCESS_KEY", CANARY_SECRET);
    env_set(&fe, "AWS_SESSION_TOKEN", CANARY_TOKEN);
    c.profile = "missing";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL && err.code == FY_ECONFIG && clean(err.msg));

    /* a value too long for its field: named, not shown */
    memset(longkey, 'K', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    conf_init(&c, &fe, &s);
    c.key_id = "AKIAKEY";
    c.secret = longkey;
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL && err.code == FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "KKKKKKKK") == NULL);
    scratch_drop(&s);
}

static void test_key_hint(void)
{
    char h[32];

    FY_ASSERT_STR(fy_aws_key_hint("AKIAIOSFODNN7EXAMPLE", h, sizeof(h)), "AKIA...MPLE");
    FY_ASSERT_STR(fy_aws_key_hint("minio-user-12345", h, sizeof(h)), "...2345");
    FY_ASSERT_STR(fy_aws_key_hint("short", h, sizeof(h)), "...");
    FY_ASSERT_STR(fy_aws_key_hint("", h, sizeof(h)), "(none)");
}

/* ==== web identity against the stand-in STS ==== */

enum sts_mode { STS_OK, STS_DENY, STS_DENY_ECHO, STS_500, STS_BAD_XML };

struct sts {
    struct MHD_Daemon *mhd;
    int port;
    pthread_mutex_t mu;        /* guards everything below */
    enum sts_mode mode;
    int expires_in_s;          /* Expiration = now + this */
    unsigned requests;
    char action[64], version[32], role[128], session[64];
    char token[256];           /* WebIdentityToken of the last request */
    char method[8], ctype[80];
};

/* Percent-decode the form field name of body into out ("" when absent). */
static void form_field(const char *body, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name), n = 0;
    const char *p = body;

    out[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            for (p += nl + 1; *p != '\0' && *p != '&' && n + 1 < size; p++) {
                if (*p == '%' && p[1] != '\0' && p[2] != '\0') {
                    char hex[3] = {p[1], p[2], '\0'};
                    out[n++] = (char)strtol(hex, NULL, 16);
                    p += 2;
                } else {
                    out[n++] = *p == '+' ? ' ' : *p;
                }
            }
            out[n] = '\0';
            return;
        }
        p = strchr(p, '&');
        p = p != NULL ? p + 1 : NULL;
    }
}

static void iso_in(int seconds, char *out, size_t size)
{
    time_t t = time(NULL) + seconds;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static enum MHD_Result sts_answer(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    struct sts *st = cls;
    struct fy_buf *body = *state;
    struct MHD_Response *resp;
    char xml[4096], exp[32];
    const char *ct;
    int status = 200;
    enum MHD_Result rc;

    (void)url;
    (void)version;
    if (body == NULL) {
        body = calloc(1, sizeof(*body));
        fy_buf_init(body, 1 << 20);
        *state = body;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        fy_buf_add(body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    fy_buf_add(body, "", 0);
    pthread_mutex_lock(&st->mu);
    st->requests++;
    snprintf(st->method, sizeof(st->method), "%s", method);
    ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    snprintf(st->ctype, sizeof(st->ctype), "%s", ct != NULL ? ct : "");
    form_field(body->data, "Action", st->action, sizeof(st->action));
    form_field(body->data, "Version", st->version, sizeof(st->version));
    form_field(body->data, "RoleArn", st->role, sizeof(st->role));
    form_field(body->data, "RoleSessionName", st->session, sizeof(st->session));
    form_field(body->data, "WebIdentityToken", st->token, sizeof(st->token));
    iso_in(st->expires_in_s, exp, sizeof(exp));
    switch (st->mode) {
    case STS_OK:
        /* the documented answer's shape; the key id counts the requests */
        snprintf(xml, sizeof(xml),
                 "<AssumeRoleWithWebIdentityResponse "
                 "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <AssumeRoleWithWebIdentityResult>\n"
                 "    <SubjectFromWebIdentityToken>system:serviceaccount:iot:ferry"
                 "</SubjectFromWebIdentityToken>\n"
                 "    <Audience>sts.amazonaws.com</Audience>\n"
                 "    <AssumedRoleUser>\n"
                 "      <Arn>arn:aws:sts::123456789012:assumed-role/ferry-sqs/%s</Arn>\n"
                 "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:%s</AssumedRoleId>\n"
                 "    </AssumedRoleUser>\n"
                 "    <Credentials>\n"
                 "      <SessionToken>" CANARY_TOKEN "%u</SessionToken>\n"
                 "      <SecretAccessKey>" CANARY_SECRET "&amp;%u</SecretAccessKey>\n"
                 "      <Expiration>%s</Expiration>\n"
                 "      <AccessKeyId>ASIASTANDINSTS%06u</AccessKeyId>\n"
                 "    </Credentials>\n"
                 "    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example"
                 "</Provider>\n"
                 "  </AssumeRoleWithWebIdentityResult>\n"
                 "  <ResponseMetadata>\n"
                 "    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
                 "  </ResponseMetadata>\n"
                 "</AssumeRoleWithWebIdentityResponse>\n",
                 st->session, st->session, st->requests, st->requests, exp, st->requests);
        break;
    case STS_DENY:
    case STS_DENY_ECHO:
        status = 403;
        snprintf(xml, sizeof(xml),
                 "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <Error>\n    <Type>Sender</Type>\n"
                 "    <Code>InvalidIdentityToken</Code>\n"
                 "    <Message>%s%s</Message>\n  </Error>\n"
                 "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
                 "</ErrorResponse>\n",
                 st->mode == STS_DENY ? "Incorrect token audience" : "Token ",
                 st->mode == STS_DENY ? "" : st->token);
        break;
    case STS_500:
        status = 500;
        snprintf(xml, sizeof(xml), "<ErrorResponse><Error><Type>Receiver</Type>"
                 "<Code>ServiceUnavailable</Code><Message>try later</Message></Error>"
                 "</ErrorResponse>");
        break;
    case STS_BAD_XML:
        snprintf(xml, sizeof(xml), "<html><body>captive portal</body></html>");
        break;
    }
    pthread_mutex_unlock(&st->mu);
    resp = MHD_create_response_from_buffer(strlen(xml), xml, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "text/xml");
    rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void sts_done(void *cls, struct MHD_Connection *conn, void **state,
                     enum MHD_RequestTerminationCode why)
{
    struct fy_buf *body = *state;

    (void)cls;
    (void)conn;
    (void)why;
    if (body != NULL) {
        fy_buf_free(body);
        free(body);
        *state = NULL;
    }
}

static void sts_start(struct sts *st)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    memset(st, 0, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    st->expires_in_s = 3600;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    st->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                               sts_answer, st, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                               MHD_OPTION_NOTIFY_COMPLETED, sts_done, st, MHD_OPTION_END);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st->mhd);
    info = MHD_get_daemon_info(st->mhd, MHD_DAEMON_INFO_BIND_PORT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info);
    st->port = info->port;
}

static void sts_stop(struct sts *st)
{
    MHD_stop_daemon(st->mhd);
    pthread_mutex_destroy(&st->mu);
}

static void sts_set(struct sts *st, enum sts_mode mode, int expires_in_s)
{
    pthread_mutex_lock(&st->mu);
    st->mode = mode;
    st->expires_in_s = expires_in_s;
    pthread_mutex_unlock(&st->mu);
}

static unsigned sts_requests(struct sts *st)
{
    unsigned n;

    pthread_mutex_lock(&st->mu);
    n = st->requests;
    pthread_mutex_unlock(&st->mu);
    return n;
}

/* A resolver on web identity, pointed at the stand-in STS. */
struct web {
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_http_transport tp;
    char url[64];
};

static struct fy_aws_auth *web_create(struct web *w, struct sts *st, const char *session,
                                      struct fy_err *err)
{
    conf_init(&w->c, &w->fe, &w->s);
    env_set(&w->fe, "AWS_WEB_IDENTITY_TOKEN_FILE", w->s.token);
    env_set(&w->fe, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ferry-sqs");
    if (session != NULL) {
        env_set(&w->fe, "AWS_ROLE_SESSION_NAME", session);
    }
    memset(&w->tp, 0, sizeof(w->tp));
    w->tp.timeout_ms = 5000;
    w->tp.connect_timeout_ms = 2000;
    w->tp.allow_private = 1; /* the stand-in listens on loopback */
    snprintf(w->url, sizeof(w->url), "http://127.0.0.1:%d", st->port);
    w->c.sts_endpoint = w->url;
    w->c.transport = &w->tp;
    return fy_aws_auth_create(&w->c, err);
}

static void test_web_identity_renewal(void)
{
    struct sts st;
    struct web w;
    struct fy_aws_auth *a;
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    char d[512];
    int64_t now;

    sts_start(&st);
    scratch_make(&w.s);
    write_file(w.s.token, CANARY_JWT "-v1\n");
    a = web_create(&w, &st, NULL, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT(strstr(d, "not fetched yet") != NULL);
    FY_ASSERT_EQ(sts_requests(&st), 0); /* lazily: create sends nothing */

    /* the first get fetches; 2 minutes of lifetime is inside the 5-minute margin */
    sts_set(&st, STS_OK, 120);
    now = fy_clock_wall_ms();
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 1);
    FY_ASSERT_STR(cr.source, "web-identity");
    FY_ASSERT_STR(cr.key_id, "ASIASTANDINSTS000001");
    FY_ASSERT_STR(cr.secret, CANARY_SECRET "&1"); /* &amp; decoded */
    FY_ASSERT_STR(cr.token, CANARY_TOKEN "1");
    FY_ASSERT(cr.expires_wall_ms > now + 110000 && cr.expires_wall_ms < now + 130000);
    pthread_mutex_lock(&st.mu);
    FY_ASSERT_STR(st.method, "POST");
    FY_ASSERT(strncmp(st.ctype, "application/x-www-form-urlencoded", 33) == 0);
    FY_ASSERT_STR(st.action, "AssumeRoleWithWebIdentity");
    FY_ASSERT_STR(st.version, "2011-06-15");
    FY_ASSERT_STR(st.role, "arn:aws:iam::123456789012:role/ferry-sqs");
    FY_ASSERT_STR(st.session, "ferry"); /* the default session name */
    FY_ASSERT_STR(st.token, CANARY_JWT "-v1"); /* the trailing newline is not sent */
    pthread_mutex_unlock(&st.mu);

    /* near expiry: the next get renews, and reads the (rotated) token file again */
    write_file(w.s.token, CANARY_JWT "-v2");
    sts_set(&st, STS_OK, 3600);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 2);
    FY_ASSERT_STR(cr.key_id, "ASIASTANDINSTS000002");
    pthread_mutex_lock(&st.mu);
    FY_ASSERT_STR(st.token, CANARY_JWT "-v2");
    pthread_mutex_unlock(&st.mu);

    /* an hour left: served from the cache, no request */
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 2);
    FY_ASSERT_EQ(fy_aws_auth_fetches(a), 2);
    FY_ASSERT_STR(cr.key_id, "ASIASTANDINSTS000002");

    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT(strstr(d, "credentials from web-identity (role arn:aws:iam::123456789012:role/"
                        "ferry-sqs, session ferry, key ASIA...0002, expires ") == d);
    FY_ASSERT(clean(d));
    fy_aws_creds_clear(&cr);
    fy_aws_auth_destroy(a);
    scratch_drop(&w.s);
    sts_stop(&st);
}

static void test_web_identity_failures(void)
{
    struct sts st;
    struct web w;
    struct fy_aws_auth *a;
    struct fy_aws_creds cr;
    struct fy_err err = {0};

    sts_start(&st);
    scratch_make(&w.s);
    write_file(w.s.token, CANARY_JWT);
    a = web_create(&w, &st, "ferry-test", &err);
    FY_ASSERT_MSG(a != NULL, err.msg);

    /* 403 InvalidIdentityToken: retryable, with the status, the Code and the Message */
    sts_set(&st, STS_DENY, 3600);
    FY_ASSERT_EQ(fy_aws_auth_get(a, &cr, &err), FY_EAGAIN);
    FY_ASSERT_EQ(err.code, FY_EAGAIN);
    FY_ASSERT(strstr(err.msg, "HTTP 403 InvalidIdentityToken: Incorrect token audience") != NULL);
    FY_ASSERT(strstr(err.msg, w.url) != NULL);
    FY_ASSERT(clean(err.msg));
    FY_ASSERT_EQ(cr.key_id[0], 0); /* out is cleared on error */
    pthread_mutex_lock(&st.mu);
    FY_ASSERT_STR(st.session, "ferry-test");
    pthread_mutex_unlock(&st.mu);

    /* an STS Message that quotes the token is not repeated */
    sts_set(&st, STS_DENY_ECHO, 3600);
    FY_ASSERT_EQ(fy_aws_auth_get(a, &cr, &err), FY_EAGAIN);
    FY_ASSERT(strstr(err.msg, "HTTP 403 InvalidIdentityToken") != NULL);
    FY_ASSERT(clean(err.msg));

    /* a 200 that is not an STS answer */
    sts_set(&st, STS_BAD_XML, 3600);
    FY_ASSERT_EQ(fy_aws_auth_get(a, &cr, &err), FY_EAGAIN);
    FY_ASSERT(strstr(err.msg, "without AssumeRoleWithWebIdentityResult") != NULL);

    /* recovery, then an early renewal that fails: the credentials in hand keep serving,
     * and STS is not asked again at once */
    sts_set(&st, STS_OK, 120);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 4);
    sts_set(&st, STS_500, 3600);
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 5);
    FY_ASSERT_STR(cr.key_id, "ASIASTANDINSTS000004");
    FY_ASSERT_OK(fy_aws_auth_get(a, &cr, &err), &err);
    FY_ASSERT_EQ(sts_requests(&st), 5);

    /* no token file: retryable (the kubelet may not have written it yet), names the path */
    fy_aws_auth_destroy(a);
    a = web_create(&w, &st, NULL, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    unlink(w.s.token);
    FY_ASSERT_EQ(fy_aws_auth_get(a, &cr, &err), FY_EAGAIN);
    FY_ASSERT(strstr(err.msg, w.s.token) != NULL);

    /* STS not listening: retryable */
    fy_aws_auth_destroy(a);
    write_file(w.s.token, CANARY_JWT);
    a = web_create(&w, &st, NULL, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    sts_stop(&st);
    FY_ASSERT_EQ(fy_aws_auth_get(a, &cr, &err), FY_EAGAIN);
    FY_ASSERT(clean(err.msg));
    fy_aws_auth_destroy(a);
    scratch_drop(&w.s);
}

/* Web identity without a region or endpoint; the region picks the STS host. */
static void test_web_identity_endpoint(void)
{
    struct scratch s;
    struct fake_env fe;
    struct fy_aws_auth_conf c;
    struct fy_aws_auth *a;
    struct fy_err err = {0};
    char d[512];

    scratch_make(&s);
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_WEB_IDENTITY_TOKEN_FILE", s.token);
    env_set(&fe, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ferry");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);
    FY_ASSERT(strstr(err.msg, "no region") != NULL);

    c.region = "eu-central-1";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    fy_aws_auth_describe(a, d, sizeof(d));
    FY_ASSERT(strstr(d, "via https://sts.eu-central-1.amazonaws.com;") != NULL);
    fy_aws_auth_destroy(a);

    c.region = "eu-west-1.evil.example/";
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT_EQ(err.code, FY_ECONFIG);

    /* only one of the two variables: the final message says which one is missing */
    conf_init(&c, &fe, &s);
    env_set(&fe, "AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ferry");
    a = fy_aws_auth_create(&c, &err);
    FY_ASSERT(a == NULL);
    FY_ASSERT(strstr(err.msg, "AWS_WEB_IDENTITY_TOKEN_FILE unset") != NULL);
    scratch_drop(&s);
}

/* Sink workers share one resolver: many threads, one STS request. */
struct getter {
    struct fy_aws_auth *a;
    int rc;
};

static void *get_thread(void *arg)
{
    struct getter *g = arg;
    struct fy_aws_creds cr;
    struct fy_err err = {0};
    int i;

    for (i = 0; i < 20 && g->rc == FY_OK; i++) {
        g->rc = fy_aws_auth_get(g->a, &cr, &err);
        if (g->rc == FY_OK && strncmp(cr.key_id, "ASIASTANDINSTS", 14) != 0) {
            g->rc = -1;
        }
    }
    fy_aws_creds_clear(&cr);
    return NULL;
}

static void test_web_identity_threads(void)
{
    struct sts st;
    struct web w;
    struct fy_err err = {0};
    struct getter g[4];
    pthread_t t[4];
    struct fy_aws_auth *a;
    int i;

    sts_start(&st);
    scratch_make(&w.s);
    write_file(w.s.token, CANARY_JWT);
    a = web_create(&w, &st, NULL, &err);
    FY_ASSERT_MSG(a != NULL, err.msg);
    for (i = 0; i < 4; i++) {
        g[i].a = a;
        g[i].rc = FY_OK;
        pthread_create(&t[i], NULL, get_thread, &g[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        FY_ASSERT_EQ(g[i].rc, FY_OK);
    }
    FY_ASSERT_EQ(sts_requests(&st), 1);
    fy_aws_auth_destroy(a);
    scratch_drop(&w.s);
    sts_stop(&st);
}

int init_aws_tests(void)
{
    CU_pSuite s = CU_add_suite("aws", NULL, NULL);

    if (s == NULL || CU_add_test(s, "config wins over env", test_config_wins) == NULL ||
        CU_add_test(s, "env wins over the file", test_env_over_file) == NULL ||
        CU_add_test(s, "credentials file profiles", test_profiles) == NULL ||
        CU_add_test(s, "credentials file errors", test_profile_errors) == NULL ||
        CU_add_test(s, "no secret in errors", test_no_secret_in_errors) == NULL ||
        CU_add_test(s, "key id hint", test_key_hint) == NULL ||
        CU_add_test(s, "web identity: renewal and token rotation",
                    test_web_identity_renewal) == NULL ||
        CU_add_test(s, "web identity: STS failures", test_web_identity_failures) == NULL ||
        CU_add_test(s, "web identity: endpoint and region", test_web_identity_endpoint) == NULL ||
        CU_add_test(s, "web identity: one fetch for many threads",
                    test_web_identity_threads) == NULL) {
        return -1;
    }
    return 0;
}
