/* aws.c - the AWS credential chain and its cache (see aws.h for the order and the threads). */
#include "core/http/aws.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/http/ssrf.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define CRED_FILE_MAX (1024 * 1024)  /* a shared credentials file larger than this is refused */
#define TOKEN_FILE_MAX (64 * 1024)   /* web identity tokens are JWTs of a few kB */
#define STS_RESPONSE_MAX (64 * 1024) /* an AssumeRoleWithWebIdentity answer is ~2 kB */
#define RETRY_EARLY_MS 10000         /* after a failed early renewal, wait this long */
#define STS_VERSION "2011-06-15"

enum source { SRC_CONFIG, SRC_ENV, SRC_PROFILE, SRC_WEB };

struct fy_aws_auth {
    pthread_mutex_t lock;      /* covers everything below that changes after create */
    enum source src;
    struct fy_aws_creds creds; /* the static ones, or the cached web identity ones */
    int have;                  /* creds hold credentials (web identity: fetched once) */
    int64_t renew_mono;        /* web identity: fetch again from this monotonic time */
    int64_t expires_mono;      /* web identity: creds are no good from this time */
    int64_t next_try_mono;     /* web identity: no early renewal before this time */
    uint64_t fetches;
    char *profile;             /* the profile's name (SRC_PROFILE) */
    char *token_file, *role_arn, *session_name, *sts_url; /* SRC_WEB */
    char sts_shown[256];       /* sts_url as logs show it (fy_redact_url) */
    const struct fy_http_transport *tp;
    struct fy_http_transport tp_default;
    char tag[64];
};

/* ==== small helpers ==== */

void fy_aws_creds_clear(struct fy_aws_creds *c)
{
    /* byte by byte through a volatile pointer: the compiler may not drop it, and GCC's -O2
     * -Wstringop-overflow misreads explicit_bzero over a struct whose first member is an
     * array (it measured the region as that member) */
    volatile unsigned char *p = (volatile unsigned char *)c;
    size_t n = c != NULL ? sizeof(*c) : 0;

    while (n-- > 0) {
        *p++ = 0;
    }
}

static void free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static int nonempty(const char *s)
{
    return s != NULL && *s != '\0';
}

/* An environment variable through the configured lookup; NULL when unset or empty (as the
 * AWS SDKs read an empty variable). Borrowed until the next lookup. */
static const char *env_get(const struct fy_aws_auth_conf *c, const char *name)
{
    const char *v = c->getenv_fn != NULL ? c->getenv_fn(name, c->getenv_arg) : getenv(name);

    return nonempty(v) ? v : NULL;
}

/* Copy src into a field of size bytes; 0 when it does not fit. */
static int put(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) {
        return 0;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 1;
}

char *fy_aws_key_hint(const char *key_id, char *out, size_t size)
{
    size_t n = key_id != NULL ? strlen(key_id) : 0;
    int prefixed = n >= 12;
    size_t i;

    if (n == 0) {
        snprintf(out, size, "(none)");
        return out;
    }
    /* AKIA (long-term), ASIA (temporary) and the other 4-letter prefixes name the key's type,
     * not the key; the rest is shown as AWS's console shows it, the last 4 only */
    for (i = 0; i < 4 && prefixed; i++) {
        prefixed = key_id[i] >= 'A' && key_id[i] <= 'Z';
    }
    if (prefixed) {
        snprintf(out, size, "%.4s...%s", key_id, key_id + n - 4);
    } else {
        snprintf(out, size, "...%s", n > 8 ? key_id + n - 4 : "");
    }
    return out;
}

/* ==== the shared credentials file ==== */

/* [start, end) without blanks around it. */
static void trim(const char **start, const char **end)
{
    while (*start < *end && (**start == ' ' || **start == '\t' || **start == '\r')) {
        (*start)++;
    }
    while (*end > *start && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r')) {
        (*end)--;
    }
}

/* What the profile's section held. */
struct ini_found {
    int section_line;          /* 0: no such section */
    int key_line, secret_line; /* 0: key absent */
    char names[96];            /* the file's sections, for "profiles there: ..." */
};

/* Read the profile's keys from the INI text (NUL-terminated) into out. Later lines win over
 * earlier ones, also across repeated sections. Comment lines start with # or ;; a value runs
 * to the end of its line (a # inside it is part of it, as botocore reads it). FY_OK, or
 * FY_ECONFIG for a malformed line inside the profile's section or a value too long. */
static int ini_parse(const char *text, const char *path, const char *profile,
                     struct fy_aws_creds *out, struct ini_found *f, struct fy_err *err)
{
    const char *p = text;
    int line = 0, in = 0;

    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        const char *s = p, *e = eol != NULL ? eol : p + strlen(p);
        const char *eq, *ks, *ke, *vs, *ve;
        char *field;
        size_t size;

        line++;
        p = eol != NULL ? eol + 1 : e;
        trim(&s, &e);
        if (s == e || *s == '#' || *s == ';') {
            continue;
        }
        if (*s == '[') {
            if (e[-1] != ']' || e - s < 2) {
                return fy_err_set(err, FY_ECONFIG, "%s:%d: malformed section header (expected "
                                  "[profile-name])", path, line);
            }
            ks = s + 1;
            ke = e - 1;
            trim(&ks, &ke);
            in = (size_t)(ke - ks) == strlen(profile) && strncmp(ks, profile, strlen(profile)) == 0;
            if (in && f->section_line == 0) {
                f->section_line = line;
            }
            if (strlen(f->names) + (size_t)(ke - ks) + 3 < sizeof(f->names)) {
                size_t n = strlen(f->names);
                snprintf(f->names + n, sizeof(f->names) - n, "%s%.*s", n > 0 ? ", " : "",
                         (int)(ke - ks), ks);
            }
            continue;
        }
        if (!in) {
            continue;
        }
        eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL) {
            return fy_err_set(err, FY_ECONFIG, "%s:%d: in [%s]: expected 'name = value'", path,
                              line, profile);
        }
        ks = s;
        ke = eq;
        vs = eq + 1;
        ve = e;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if ((size_t)(ke - ks) == 17 && strncasecmp(ks, "aws_access_key_id", 17) == 0) {
            field = out->key_id;
            size = sizeof(out->key_id);
            f->key_line = vs < ve ? line : 0;
        } else if ((size_t)(ke - ks) == 21 && strncasecmp(ks, "aws_secret_access_key", 21) == 0) {
            field = out->secret;
            size = sizeof(out->secret);
            f->secret_line = vs < ve ? line : 0;
        } else if ((size_t)(ke - ks) == 17 && strncasecmp(ks, "aws_session_token", 17) == 0) {
            field = out->token;
            size = sizeof(out->token);
        } else {
            continue; /* region, output, role_arn, ...: not credentials read here */
        }
        if (!put(field, size, vs, (size_t)(ve - vs))) {
            return fy_err_set(err, FY_ECONFIG, "%s:%d: in [%s]: %.*s is longer than %zu bytes",
                              path, line, profile, (int)(ke - ks), ks, size - 1);
        }
    }
    return FY_OK;
}

/* The profile's static keys from the credentials file at path. *found = 1 when they are
 * there. A missing file or section is FY_OK with *found = 0, unless the profile was asked
 * for explicitly (then FY_ECONFIG naming the profile and the file). */
static int read_profile(struct fy_aws_auth *a, const char *path, const char *profile,
                        const char *asked_by, int *found, struct fy_err *err)
{
    struct stat st;
    struct fy_err rerr = {0};
    struct ini_found f;
    struct fy_aws_creds got;
    size_t len = 0;
    char *text;
    int rc;

    *found = 0;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && asked_by == NULL) {
            return FY_OK;
        }
        if (errno == ENOENT) {
            return fy_err_set(err, FY_ECONFIG, "AWS profile '%s' (asked for by %s) not found: "
                              "credentials file %s does not exist", profile, asked_by, path);
        }
        return fy_err_set(err, FY_ECONFIG, "AWS credentials file %s: %s", path, strerror(errno));
    }
    text = fy_file_read(path, CRED_FILE_MAX, &len, &rerr);
    if (text == NULL) {
        return fy_err_set(err, FY_ECONFIG, "AWS credentials file: %s", rerr.msg);
    }
    memset(&f, 0, sizeof(f));
    memset(&got, 0, sizeof(got));
    rc = ini_parse(text, path, profile, &got, &f, err);
    explicit_bzero(text, len);
    free(text);
    if (rc != FY_OK) {
        goto out;
    }
    if (f.section_line == 0 || (f.key_line == 0 && f.secret_line == 0)) {
        if (asked_by == NULL) {
            goto out; /* the default profile need not exist: the chain goes on */
        }
        if (f.section_line == 0) {
            rc = fy_err_set(err, FY_ECONFIG, "AWS profile '%s' (asked for by %s) not found in "
                            "%s (profiles there: %s)", profile, asked_by, path,
                            f.names[0] != '\0' ? f.names : "none");
        } else {
            rc = fy_err_set(err, FY_ECONFIG, "AWS profile '%s' in %s:%d has no "
                            "aws_access_key_id / aws_secret_access_key (only static keys are "
                            "read; role_arn, credential_process and sso are not supported)",
                            profile, path, f.section_line);
        }
        goto out;
    }
    if (f.key_line == 0 || f.secret_line == 0) {
        rc = fy_err_set(err, FY_ECONFIG, "AWS profile '%s' in %s:%d has %s but no %s", profile,
                        path, f.section_line,
                        f.key_line != 0 ? "aws_access_key_id" : "aws_secret_access_key",
                        f.key_line != 0 ? "aws_secret_access_key" : "aws_access_key_id");
        goto out;
    }
    a->creds = got;
    snprintf(a->creds.source, sizeof(a->creds.source), "profile:%s", profile);
    *found = 1;
out:
    fy_aws_creds_clear(&got);
    return rc;
}

/* ==== create / destroy ==== */

static int set_static(struct fy_aws_auth *a, enum source src, const char *what, const char *key,
                      const char *secret, const char *token, struct fy_err *err)
{
    if (!put(a->creds.key_id, sizeof(a->creds.key_id), key, strlen(key)) ||
        !put(a->creds.secret, sizeof(a->creds.secret), secret, strlen(secret)) ||
        (token != NULL && !put(a->creds.token, sizeof(a->creds.token), token, strlen(token)))) {
        fy_aws_creds_clear(&a->creds);
        return fy_err_set(err, FY_ECONFIG, "AWS credentials from %s: a key id, secret or "
                          "session token is too long (at most %zu, %zu, %zu bytes)", what,
                          sizeof(a->creds.key_id) - 1, sizeof(a->creds.secret) - 1,
                          sizeof(a->creds.token) - 1);
    }
    a->src = src;
    a->have = 1;
    snprintf(a->creds.source, sizeof(a->creds.source), "%s",
             src == SRC_CONFIG ? "config" : "env");
    return FY_OK;
}

/* The path of the shared credentials file, "~/" expanded; "" when there is no HOME. */
static void cred_path(const struct fy_aws_auth_conf *c, char *out, size_t size)
{
    const char *p = c->credentials_file;
    const char *home;

    if (!nonempty(p)) {
        p = env_get(c, "AWS_SHARED_CREDENTIALS_FILE");
    }
    if (p != NULL && strncmp(p, "~/", 2) != 0) {
        snprintf(out, size, "%s", p);
        return;
    }
    home = env_get(c, "HOME");
    if (home == NULL) {
        out[0] = '\0';
    } else if (p != NULL) {
        snprintf(out, size, "%s/%s", home, p + 2);
    } else {
        snprintf(out, size, "%s/.aws/credentials", home);
    }
}

/* The STS endpoint for web identity: the configured one, or the region's. */
static int sts_endpoint(struct fy_aws_auth *a, const struct fy_aws_auth_conf *c,
                        struct fy_err *err)
{
    char url[160];
    const char *region = nonempty(c->region) ? c->region : env_get(c, "AWS_REGION");
    size_t i;

    if (nonempty(c->sts_endpoint)) {
        a->sts_url = strdup(c->sts_endpoint);
    } else {
        if (region == NULL) {
            region = env_get(c, "AWS_DEFAULT_REGION");
        }
        if (region == NULL) {
            return fy_err_set(err, FY_ECONFIG, "AWS web identity: no region for the STS "
                              "endpoint (set the sink's region or AWS_REGION)");
        }
        for (i = 0; region[i] != '\0'; i++) {
            char ch = region[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') || i > 40) {
                return fy_err_set(err, FY_ECONFIG, "AWS region '%.48s' is not a region name "
                                  "(e.g. eu-west-1)", region);
            }
        }
        /* the China partition has its own domain */
        snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com%s", region,
                 strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
        a->sts_url = strdup(url);
    }
    if (a->sts_url == NULL) {
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    fy_redact_url(a->sts_url, a->sts_shown, sizeof(a->sts_shown));
    return FY_OK;
}

struct fy_aws_auth *fy_aws_auth_create(const struct fy_aws_auth_conf *c, struct fy_err *err)
{
    struct fy_aws_auth *a;
    const char *v, *ek, *es, *tf, *ra, *asked_by = NULL;
    char path[1024], profile[128], env_note[80] = "", web_note[80] = "";
    int found = 0;

    if (c == NULL) {
        fy_err_set(err, FY_EINVAL, "AWS credentials: no configuration");
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    snprintf(a->tag, sizeof(a->tag), "%s", nonempty(c->tag) ? c->tag : "aws");
    a->tp_default.timeout_ms = 10000;
    a->tp_default.connect_timeout_ms = 5000;
    a->tp_default.user_agent = "ferry";
    a->tp = c->transport != NULL ? c->transport : &a->tp_default;

    /* 1. the sink's config: both or neither, a half is a typo to report, not to skip */
    if (nonempty(c->key_id) && nonempty(c->secret)) {
        if (set_static(a, SRC_CONFIG, "the sink's config", c->key_id, c->secret,
                       nonempty(c->session_token) ? c->session_token : NULL, err) != FY_OK) {
            goto fail;
        }
        return a;
    }
    if (nonempty(c->key_id) || nonempty(c->secret) || nonempty(c->session_token)) {
        fy_err_set(err, FY_ECONFIG, "AWS credentials in the sink's config: %s is set but %s is "
                   "not (set the access key id and the secret access key, or neither)",
                   nonempty(c->key_id) ? "the access key id" : nonempty(c->secret) ?
                   "the secret access key" : "a session token",
                   nonempty(c->key_id) ? "the secret access key" : "the access key id");
        goto fail;
    }

    /* 2. the environment */
    ek = env_get(c, "AWS_ACCESS_KEY_ID");
    if (ek != NULL) {
        char key[sizeof(a->creds.key_id)];
        if (!put(key, sizeof(key), ek, strlen(ek))) {
            fy_err_set(err, FY_ECONFIG, "AWS_ACCESS_KEY_ID is longer than %zu bytes",
                       sizeof(key) - 1);
            goto fail;
        }
        es = env_get(c, "AWS_SECRET_ACCESS_KEY");
        if (es != NULL) {
            char *sec = strdup(es), *tok;
            int rc;
            v = env_get(c, "AWS_SESSION_TOKEN");
            tok = v != NULL ? strdup(v) : NULL;
            rc = sec == NULL || (v != NULL && tok == NULL) ?
                fy_err_set(err, FY_ENOMEM, "out of memory") :
                set_static(a, SRC_ENV, "the environment", key, sec, tok, err);
            free_secret(sec);
            free_secret(tok);
            if (rc != FY_OK) {
                goto fail;
            }
            return a;
        }
        fy_log_warn(a->tag, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: the "
                    "environment's key is skipped");
        snprintf(env_note, sizeof(env_note), "AWS_SECRET_ACCESS_KEY unset");
    } else if (env_get(c, "AWS_SECRET_ACCESS_KEY") != NULL) {
        fy_log_warn(a->tag, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: the "
                    "environment's key is skipped");
        snprintf(env_note, sizeof(env_note), "AWS_ACCESS_KEY_ID unset");
    }

    /* 3. the profile in the shared credentials file */
    if (nonempty(c->profile)) {
        snprintf(profile, sizeof(profile), "%s", c->profile);
        asked_by = "the sink's config";
    } else if ((v = env_get(c, "AWS_PROFILE")) != NULL) {
        snprintf(profile, sizeof(profile), "%s", v);
        asked_by = "AWS_PROFILE";
    } else {
        snprintf(profile, sizeof(profile), "default");
    }
    cred_path(c, path, sizeof(path));
    if (path[0] == '\0' && asked_by != NULL) {
        fy_err_set(err, FY_ECONFIG, "AWS profile '%s' (asked for by %s): no credentials file "
                   "(HOME and AWS_SHARED_CREDENTIALS_FILE are not set)", profile, asked_by);
        goto fail;
    }
    if (path[0] != '\0' && read_profile(a, path, profile, asked_by, &found, err) != FY_OK) {
        goto fail;
    }
    if (found) {
        a->src = SRC_PROFILE;
        a->have = 1;
        a->profile = strdup(profile);
        if (a->profile == NULL) {
            fy_err_set(err, FY_ENOMEM, "out of memory");
            goto fail;
        }
        return a;
    }

    /* 4. web identity (EKS IRSA, and any OIDC provider) through STS */
    tf = env_get(c, "AWS_WEB_IDENTITY_TOKEN_FILE");
    ra = env_get(c, "AWS_ROLE_ARN");
    if (tf != NULL && ra != NULL) {
        a->src = SRC_WEB;
        a->token_file = strdup(tf);
        a->role_arn = strdup(ra);
        v = env_get(c, "AWS_ROLE_SESSION_NAME");
        a->session_name = strdup(v != NULL ? v : "ferry");
        if (a->token_file == NULL || a->role_arn == NULL || a->session_name == NULL) {
            fy_err_set(err, FY_ENOMEM, "out of memory");
            goto fail;
        }
        if (sts_endpoint(a, c, err) != FY_OK) {
            goto fail;
        }
        snprintf(a->creds.source, sizeof(a->creds.source), "web-identity");
        return a;
    }
    if (tf != NULL || ra != NULL) {
        snprintf(web_note, sizeof(web_note), "%s unset",
                 tf != NULL ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
    }
    fy_err_set(err, FY_ECONFIG, "no AWS credentials: none in the sink's config; environment: "
               "%s; no [%s] in %s; web identity: %s", env_note[0] != '\0' ? env_note :
               "AWS_ACCESS_KEY_ID unset", profile, path[0] != '\0' ? path : "(no HOME)",
               web_note[0] != '\0' ? web_note : "AWS_ROLE_ARN unset");
fail:
    fy_aws_auth_destroy(a);
    return NULL;
}

void fy_aws_auth_destroy(struct fy_aws_auth *a)
{
    if (a == NULL) {
        return;
    }
    fy_aws_creds_clear(&a->creds);
    free(a->profile);
    free(a->token_file);
    free(a->role_arn);
    free(a->session_name);
    free(a->sts_url);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* ==== the STS answer ==== */

/* The content of the first <name>...</name> element in [p, end) (no attributes are expected
 * in STS answers, but tolerated): *s and *e bound it. 1 when found, 0 when not. */
static int xml_elem(const char *p, const char *end, const char *name, const char **s,
                    const char **e)
{
    char open[64], close[64];
    size_t on, cn;
    const char *q = p;

    on = (size_t)snprintf(open, sizeof(open), "<%s", name);
    cn = (size_t)snprintf(close, sizeof(close), "</%s>", name);
    while (q < end) {
        const char *o = memmem(q, (size_t)(end - q), open, on);
        const char *gt, *c;
        if (o == NULL || o + on >= end) {
            return 0;
        }
        q = o + on;
        if (*q != '>' && *q != ' ' && *q != '\t' && *q != '\r' && *q != '\n') {
            continue; /* <AccessKeyIdX>: another element */
        }
        gt = memchr(q, '>', (size_t)(end - q));
        if (gt == NULL) {
            return 0;
        }
        if (gt[-1] == '/') { /* <Name/> */
            *s = *e = gt + 1;
            return 1;
        }
        c = memmem(gt + 1, (size_t)(end - gt - 1), close, cn);
        if (c == NULL) {
            return 0;
        }
        *s = gt + 1;
        *e = c;
        return 1;
    }
    return 0;
}

/* The text of element name in [p, end), blanks trimmed and the five XML entities and
 * numeric ASCII references decoded, into out. 1 found, 0 absent, -1 too long for out or not
 * text (a nested element, an unknown entity). */
static int xml_text(const char *p, const char *end, const char *name, char *out, size_t size)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    const char *s, *e;
    size_t n = 0, i;

    if (!xml_elem(p, end, name, &s, &e)) {
        return 0;
    }
    while (s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
    }
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) {
        e--;
    }
    while (s < e) {
        char c = *s;
        if (c == '<') {
            return -1;
        }
        if (c == '&') {
            const char *semi = memchr(s, ';', (size_t)(e - s));
            size_t len = semi != NULL ? (size_t)(semi - s) + 1 : 0;
            int ok = 0;
            for (i = 0; i < sizeof(ents) / sizeof(ents[0]) && !ok; i++) {
                if (len == strlen(ents[i].ent) && memcmp(s, ents[i].ent, len) == 0) {
                    c = ents[i].c;
                    ok = 1;
                }
            }
            if (!ok && len > 3 && len < 10 && s[1] == '#') {
                char num[12], *nend;
                long v;
                memcpy(num, s + 2, len - 3);
                num[len - 3] = '\0';
                v = num[0] == 'x' ? strtol(num + 1, &nend, 16) : strtol(num, &nend, 10);
                ok = *nend == '\0' && nend != num && v > 0 && v < 128;
                c = (char)v;
            }
            if (!ok) {
                return -1;
            }
            s += len;
        } else {
            s++;
        }
        if (n + 1 >= size) {
            return -1;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return 1;
}

/* ISO-8601 / RFC 3339 UTC time as STS writes Expiration ("2026-08-24T10:00:00Z", also with
 * fractional seconds or a +hh:mm offset) in Unix ms; -1 when it is not one. */
static int64_t iso8601_ms(const char *s)
{
    struct tm tm;
    const char *p;
    int64_t ms = 0, off = 0, frac = 0;
    int n = 0, digits = 0;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19) {
        return -1;
    }
    p = s + n;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits < 3) {
                frac = frac * 10 + (*p - '0');
            }
        }
        if (digits == 0) {
            return -1;
        }
        for (; digits < 3; digits++) {
            frac *= 10;
        }
    }
    if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59) {
            return -1;
        }
        off = (int64_t)(hh * 60 + mm) * 60000 * (*p == '+' ? 1 : -1);
    } else if (!((*p == 'Z' || *p == 'z') && p[1] == '\0')) {
        return -1;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    ms = (int64_t)timegm(&tm) * 1000 + frac - off;
    return ms;
}

/* 1 when msg shows the web identity token or a part of it (a JWT's header, payload or
 * signature), so it must not be quoted. */
static int shows_token(const char *msg, const char *token)
{
    const char *p = token;
    size_t mlen = strlen(msg);

    if (strstr(msg, token) != NULL) {
        return 1;
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ".");
        if (n >= 8 && memmem(msg, mlen, p, n) != NULL) {
            return 1;
        }
        p += n;
        p += *p == '.';
    }
    return 0;
}

/* The reason for an STS error answer: the status, STS's Code and its Message (not when it
 * shows the token). Always FY_EAGAIN: the sink backs off and asks again, and a rotated
 * token or a fixed trust policy heals without a restart. */
static int sts_refused(struct fy_aws_auth *a, long status, const struct fy_buf *resp,
                       const char *token, struct fy_err *err)
{
    const char *end = resp->data != NULL ? resp->data + resp->len : NULL;
    const char *es = NULL, *ee = NULL;
    char code[64] = "", msg[160] = "";
    size_t i;

    if (resp->data != NULL && xml_elem(resp->data, end, "Error", &es, &ee)) {
        if (xml_text(es, ee, "Code", code, sizeof(code)) != 1) {
            code[0] = '\0';
        }
        if (xml_text(es, ee, "Message", msg, sizeof(msg)) != 1 || shows_token(msg, token)) {
            msg[0] = '\0';
        }
        for (i = 0; msg[i] != '\0'; i++) {
            msg[i] = (msg[i] >= 0 && msg[i] < 0x20) ? ' ' : msg[i];
        }
    }
    return fy_err_set(err, FY_EAGAIN, "AWS STS %s: AssumeRoleWithWebIdentity for %s: HTTP %ld "
                      "%s%s%s", a->sts_shown, a->role_arn, status,
                      code[0] != '\0' ? code : "(no STS error code in the answer)",
                      msg[0] != '\0' ? ": " : "", msg);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct fy_buf *b = arg;

    return fy_buf_add(b, p, size * n) == FY_OK ? size * n : 0;
}

/* The Date header, to measure the credentials' lifetime on STS's clock. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    char v[64];

    if (fy_http_header_value(p, size * n, "Date", v, sizeof(v))) {
        time_t t = curl_getdate(v, NULL);
        *(int64_t *)arg = t > 0 ? (int64_t)t * 1000 : -1;
    }
    return size * n;
}

/* Append "&name=value", value form-encoded. FY_OK or FY_ENOMEM/FY_ETOOBIG. */
static int form_add(CURL *e, struct fy_buf *form, const char *name, const char *value)
{
    char *v = curl_easy_escape(e, value, 0);
    int rc;

    if (v == NULL) {
        return FY_ENOMEM;
    }
    rc = fy_buf_printf(form, "%s%s=%s", form->len > 0 ? "&" : "", name, v);
    explicit_bzero(v, strlen(v));
    curl_free(v);
    return rc;
}

/* Read the token file, ask STS for credentials, and cache them. Called with a->lock held. */
static int sts_fetch(struct fy_aws_auth *a, struct fy_err *err)
{
    struct fy_err ferr = {0};
    struct fy_ssrf_note note = {{0}};
    struct fy_buf form, resp;
    struct fy_aws_creds got;
    struct curl_slist *h = NULL;
    char *token;
    size_t tlen = 0;
    CURL *e;
    CURLcode cc;
    long status = 0;
    int64_t start_mono = fy_clock_mono_ms(), start_wall = fy_clock_wall_ms();
    int64_t date_ms = -1, exp_ms, life_ms;
    const char *cs = NULL, *ce = NULL, *end;
    char exp[64];
    int rc = FY_OK, r1, r2, r3, r4;

    /* read again every time: the kubelet rewrites it before the old token expires */
    token = fy_file_read(a->token_file, TOKEN_FILE_MAX, &tlen, &ferr);
    if (token == NULL) {
        return fy_err_set(err, FY_EAGAIN, "AWS web identity token file: %s", ferr.msg);
    }
    while (tlen > 0 && (token[tlen - 1] == '\n' || token[tlen - 1] == '\r' ||
                        token[tlen - 1] == ' ' || token[tlen - 1] == '\t')) {
        token[--tlen] = '\0';
    }
    if (tlen == 0) {
        free(token);
        return fy_err_set(err, FY_EAGAIN, "AWS web identity token file %s is empty",
                          a->token_file);
    }
    e = curl_easy_init();
    if (e == NULL) {
        free_secret(token);
        return fy_err_set(err, FY_ENOMEM, "out of memory");
    }
    memset(&got, 0, sizeof(got));
    fy_buf_init(&form, TOKEN_FILE_MAX * 3 + 4096);
    fy_buf_init(&resp, STS_RESPONSE_MAX);
    /* unsigned: the token is the proof. POST keeps it out of the URL, so out of any log */
    if (form_add(e, &form, "Action", "AssumeRoleWithWebIdentity") != FY_OK ||
        form_add(e, &form, "Version", STS_VERSION) != FY_OK ||
        form_add(e, &form, "RoleArn", a->role_arn) != FY_OK ||
        form_add(e, &form, "RoleSessionName", a->session_name) != FY_OK ||
        form_add(e, &form, "WebIdentityToken", token) != FY_OK) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    h = curl_slist_append(h, "Accept: application/xml");
    if (h == NULL) {
        rc = fy_err_set(err, FY_ENOMEM, "out of memory");
        goto out;
    }
    if (fy_http_setup(e, a->tp, &note) != FY_OK) {
        rc = fy_err_set(err, FY_EINVAL, "AWS STS %s: bad transport settings", a->sts_shown);
        goto out;
    }
    curl_easy_setopt(e, CURLOPT_URL, a->sts_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form.data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form.len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &date_ms);
    cc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    a->fetches++;
    if (cc != CURLE_OK) {
        rc = fy_err_set(err, FY_EAGAIN, "AWS STS %s: %s", a->sts_shown,
                        note.why[0] != '\0' ? note.why : curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        rc = sts_refused(a, status, &resp, token, err);
        goto out;
    }
    end = resp.data != NULL ? resp.data + resp.len : NULL;
    if (resp.data == NULL || !xml_elem(resp.data, end, "AssumeRoleWithWebIdentityResult", &cs,
                                       &ce) || !xml_elem(cs, ce, "Credentials", &cs, &ce)) {
        rc = fy_err_set(err, FY_EAGAIN, "AWS STS %s: HTTP 200 without "
                        "AssumeRoleWithWebIdentityResult/Credentials in the answer",
                        a->sts_shown);
        goto out;
    }
    r1 = xml_text(cs, ce, "AccessKeyId", got.key_id, sizeof(got.key_id));
    r2 = xml_text(cs, ce, "SecretAccessKey", got.secret, sizeof(got.secret));
    r3 = xml_text(cs, ce, "SessionToken", got.token, sizeof(got.token));
    r4 = xml_text(cs, ce, "Expiration", exp, sizeof(exp));
    if (r1 < 0 || r2 < 0 || r3 < 0) {
        rc = fy_err_set(err, FY_ETOOBIG, "AWS STS %s: %s in the answer is not text or longer "
                        "than Ferry keeps (%zu bytes)", a->sts_shown,
                        r1 < 0 ? "AccessKeyId" : r2 < 0 ? "SecretAccessKey" : "SessionToken",
                        r1 < 0 ? sizeof(got.key_id) - 1 : r2 < 0 ? sizeof(got.secret) - 1 :
                        sizeof(got.token) - 1);
        goto out;
    }
    if (r1 == 0 || r2 == 0 || r3 == 0 || r4 == 0 || got.key_id[0] == '\0' ||
        got.secret[0] == '\0') {
        rc = fy_err_set(err, FY_EAGAIN, "AWS STS %s: the answer's Credentials lack %s",
                        a->sts_shown, r1 == 0 || got.key_id[0] == '\0' ? "AccessKeyId" :
                        r2 == 0 || got.secret[0] == '\0' ? "SecretAccessKey" :
                        r3 == 0 ? "SessionToken" : "Expiration");
        goto out;
    }
    exp_ms = r4 > 0 ? iso8601_ms(exp) : -1;
    if (exp_ms < 0) {
        rc = fy_err_set(err, FY_EAGAIN, "AWS STS %s: Expiration '%.40s' is not an ISO-8601 "
                        "time", a->sts_shown, exp);
        goto out;
    }
    /* lifetime on STS's own clock when it sent a Date, so a skewed local clock neither
     * renews too late nor hammers STS; then counted on the monotonic clock */
    life_ms = exp_ms - (date_ms > 0 ? date_ms : start_wall);
    if (life_ms <= 0) {
        rc = fy_err_set(err, FY_EAGAIN, "AWS STS %s: the credentials had expired on arrival "
                        "(Expiration %s)", a->sts_shown, exp);
        goto out;
    }
    got.expires_wall_ms = start_wall + life_ms;
    snprintf(got.source, sizeof(got.source), "web-identity");
    a->creds = got;
    a->have = 1;
    a->expires_mono = start_mono + life_ms;
    a->renew_mono = a->expires_mono - FY_AWS_RENEW_BEFORE_MS;
    a->next_try_mono = 0;
    fy_log_info(a->tag, "AWS credentials for %s from STS %s, valid %lld s", a->role_arn,
                a->sts_shown, (long long)(life_ms / 1000));
out:
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    if (form.data != NULL) {
        explicit_bzero(form.data, form.len);
    }
    if (resp.data != NULL) {
        explicit_bzero(resp.data, resp.len);
    }
    fy_buf_free(&form);
    fy_buf_free(&resp);
    fy_aws_creds_clear(&got);
    free_secret(token);
    return rc;
}

/* ==== the cache ==== */

int fy_aws_auth_get(struct fy_aws_auth *a, struct fy_aws_creds *out, struct fy_err *err)
{
    int64_t now;
    int rc = FY_OK;

    if (a == NULL || out == NULL) {
        return fy_err_set(err, FY_EINVAL, "AWS credentials: NULL argument");
    }
    pthread_mutex_lock(&a->lock);
    if (a->src == SRC_WEB) {
        now = fy_clock_mono_ms();
        if (!a->have || now >= a->expires_mono) {
            rc = sts_fetch(a, err);
        } else if (now >= a->renew_mono && now >= a->next_try_mono) {
            struct fy_err rerr = {0};
            if (sts_fetch(a, &rerr) != FY_OK) {
                /* the credentials in hand are still good: use them, try again soon */
                a->next_try_mono = now + RETRY_EARLY_MS;
                fy_log_warn(a->tag, "early renewal of AWS credentials failed, the current ones "
                            "are valid %lld s more: %s",
                            (long long)((a->expires_mono - now) / 1000), rerr.msg);
            }
        }
    }
    if (rc == FY_OK) {
        *out = a->creds;
    } else {
        fy_aws_creds_clear(out);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

char *fy_aws_auth_describe(struct fy_aws_auth *a, char *out, size_t size)
{
    char hint[32], when[32];
    time_t t;
    struct tm tm;

    if (a == NULL) {
        snprintf(out, size, "no AWS credentials");
        return out;
    }
    pthread_mutex_lock(&a->lock);
    fy_aws_key_hint(a->creds.key_id, hint, sizeof(hint));
    if (a->src == SRC_PROFILE) {
        snprintf(out, size, "credentials from profile:%s (key %s%s)", a->profile, hint,
                 a->creds.token[0] != '\0' ? ", with a session token" : "");
    } else if (a->src != SRC_WEB) {
        snprintf(out, size, "credentials from %s (key %s%s)", a->creds.source, hint,
                 a->creds.token[0] != '\0' ? ", with a session token" : "");
    } else if (!a->have) {
        snprintf(out, size, "credentials from web-identity (role %s, session %s, via %s; not "
                 "fetched yet)", a->role_arn, a->session_name, a->sts_shown);
    } else {
        t = (time_t)(a->creds.expires_wall_ms / 1000);
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(out, size, "credentials from web-identity (role %s, session %s, key %s, "
                 "expires %s)", a->role_arn, a->session_name, hint, when);
    }
    pthread_mutex_unlock(&a->lock);
    return out;
}

uint64_t fy_aws_auth_fetches(struct fy_aws_auth *a)
{
    uint64_t n;

    pthread_mutex_lock(&a->lock);
    n = a->fetches;
    pthread_mutex_unlock(&a->lock);
    return n;
}
