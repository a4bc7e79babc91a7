/* kafka_conf.c - the Kafka sink's options and the librdkafka producer configuration built from
 * them, with the reliability settings of docs/reliability.md ("Kafka sink") forced on. */
#include "sinks/kafka/kafka_conf.h"

#include "core/hostport.h"

#include <stdio.h>
#include <string.h>

const char *const fy_kafka_conf_compression[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
const char *const fy_kafka_conf_protocols[] = {"plaintext", "ssl", "sasl_plaintext", "sasl_ssl",
                                               NULL};
const char *const fy_kafka_conf_mechanisms[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

#define OFF(f) offsetof(struct fy_kafka, f)

const struct fy_opt fy_kafka_conf_opts[] = {
    FY_OPT_STR("brokers", NULL, FY_REQUIRED, OFF(brokers), "bootstrap servers host:port,..."),
    FY_OPT_STR("topic", "ferry-uplinks", 0, OFF(topic), "topic when the route gives none"),
    FY_OPT_STR("client_id", "ferry", 0, OFF(client_id), "client.id"),
    FY_OPT_ENUM("compression", "lz4", fy_kafka_conf_compression, OFF(compression),
                "compression codec"),
    FY_OPT_INT("linger_ms", "5", 0, 60000, OFF(linger_ms), "batching delay (linger.ms)"),
    /* Not 0 (infinite): a record stuck in librdkafka would never get an outcome, so the core
     * could neither see the outage nor replay; the journal, not librdkafka, is the buffer. */
    FY_OPT_INT("message_timeout_ms", "300000", 100, 86400000, OFF(message_timeout_ms),
               "time librdkafka retries one record before reporting it (then RETRY)"),
    FY_OPT_INT("max_inflight", "10000", 1, 1000000, OFF(max_inflight),
               "records handed to librdkafka and not yet reported"),
    FY_OPT_ENUM("security_protocol", "plaintext", fy_kafka_conf_protocols,
                OFF(security_protocol), "security.protocol"),
    FY_OPT_ENUM("sasl_mechanism", "PLAIN", fy_kafka_conf_mechanisms, OFF(sasl_mechanism),
                "sasl.mechanism"),
    FY_OPT_STR("sasl_username", NULL, 0, OFF(sasl_username), "sasl.username"),
    FY_OPT_STR("sasl_password", NULL, FY_SECRET, OFF(sasl_password), "sasl.password"),
    FY_OPT_STR("ssl_ca_location", NULL, 0, OFF(ssl_ca_location), "CA bundle (PEM)"),
    FY_OPT_STR("ssl_certificate_location", NULL, 0, OFF(ssl_certificate_location),
               "client certificate (PEM)"),
    FY_OPT_STR("ssl_key_location", NULL, 0, OFF(ssl_key_location), "client key (PEM)"),
    FY_OPT_STR("ssl_key_password", NULL, FY_SECRET, OFF(ssl_key_password),
               "client key password"),
    FY_OPT_PREFIX("rdkafka.", OFF(rdkafka), "any librdkafka producer property"),
    {0},
};

/* librdkafka properties that a pass-through may not set: the reliability settings Ferry fixes.
 * Any other property may be passed through; it is applied after the typed options, so it wins
 * over them (e.g. rdkafka.linger.ms over linger_ms). */
static const struct {
    const char *property;
    const char *why;
} reserved[] = {
    {"enable.idempotence", "fixed to true (idempotent producer)"},
    {"acks", "fixed to all"},
    {"request.required.acks", "fixed to all"},
    {"enable.delivery.reports", "delivery reports are how records complete"},
};

/* brokers: "host:port,host:port", each optionally "PROTOCOL://host:port" as librdkafka reads
 * it; the port defaults to 9092 when left out. */
static int check_brokers(const char *brokers, struct fy_err *err)
{
    const char *p = brokers;

    if (p == NULL || *p == '\0') {
        return fy_err_set(err, FY_ECONFIG, "brokers must not be empty (expected host:port,...)");
    }
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        const char *scheme = strstr(p, "://");
        if (scheme != NULL && (size_t)(scheme - p) < n) {
            n -= (size_t)(scheme + 3 - p);
            p = scheme + 3;
        }
        while (n > 0 && *p == ' ') {
            p++, n--;
        }
        if (fy_hostport_check(p, n, 1, err) != FY_OK) {
            fy_err_prefix(err, "brokers: ");
            return err->code;
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return FY_OK;
}

int fy_kafka_conf_check(const struct fy_kafka *k, struct fy_err *err)
{
    int tls = k->security_protocol == FY_KAFKA_SSL || k->security_protocol == FY_KAFKA_SASL_SSL;
    int sasl = k->security_protocol == FY_KAFKA_SASL_PLAINTEXT ||
               k->security_protocol == FY_KAFKA_SASL_SSL;
    const char *proto = fy_kafka_conf_protocols[k->security_protocol];

    if (k->message_timeout_ms <= k->linger_ms) {
        return fy_err_set(err, FY_ECONFIG, "message_timeout_ms (%lld) must be greater than "
                          "linger_ms (%lld)", (long long)k->message_timeout_ms,
                          (long long)k->linger_ms);
    }
    if (k->topic == NULL || k->topic[0] == '\0') {
        return fy_err_set(err, FY_ECONFIG, "topic must not be empty");
    }
    if (check_brokers(k->brokers, err) != FY_OK) {
        return err->code;
    }
    if (!tls && (k->ssl_ca_location != NULL || k->ssl_certificate_location != NULL ||
                 k->ssl_key_location != NULL || k->ssl_key_password != NULL)) {
        return fy_err_set(err, FY_ECONFIG, "ssl_* options are set but security_protocol is "
                          "%s (use ssl or sasl_ssl)", proto);
    }
    if (!sasl && (k->sasl_username != NULL || k->sasl_password != NULL)) {
        return fy_err_set(err, FY_ECONFIG, "sasl_username/sasl_password are set but "
                          "security_protocol is %s (use sasl_plaintext or sasl_ssl)", proto);
    }
    if (sasl && (k->sasl_username == NULL || k->sasl_password == NULL)) {
        return fy_err_set(err, FY_ECONFIG, "security_protocol %s needs sasl_username and "
                          "sasl_password", proto);
    }
    if ((k->ssl_certificate_location == NULL) != (k->ssl_key_location == NULL)) {
        return fy_err_set(err, FY_ECONFIG, "ssl_certificate_location and ssl_key_location go "
                          "together (client certificate authentication)");
    }
    return FY_OK;
}

/* Set one typed property; value NULL means "not configured". Our own values are never
 * secret in the message except the two passwords, whose errors name only the property. */
static int set(rd_kafka_conf_t *c, const char *name, const char *value, int secret,
               struct fy_err *err)
{
    char errstr[512];

    if (value == NULL) {
        return FY_OK;
    }
    if (rd_kafka_conf_set(c, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        return fy_err_set(err, FY_ECONFIG, "%s: %s", name,
                          secret ? "value refused by librdkafka" : errstr);
    }
    return FY_OK;
}

static int set_num(rd_kafka_conf_t *c, const char *name, int64_t v, struct fy_err *err)
{
    char num[32];

    snprintf(num, sizeof(num), "%lld", (long long)v);
    return set(c, name, num, 0, err);
}

static int set_passthrough(rd_kafka_conf_t *c, const struct fy_kv *kv, struct fy_err *err)
{
    const char *file = kv->file != NULL ? kv->file : "config";
    char errstr[512];
    size_t i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(kv->key, reserved[i].property) == 0) {
            return fy_err_set(err, FY_ECONFIG, "%s:%d:%d: rdkafka.%s: not allowed: %s", file,
                              kv->line, kv->col, kv->key, reserved[i].why);
        }
    }
    if (rd_kafka_conf_set(c, kv->key, kv->value, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) {
        return FY_OK;
    }
    /* librdkafka's reason may quote the value: mask it when it came from a secret. */
    if (kv->secret || strstr(kv->key, "password") != NULL || strstr(kv->key, "secret") != NULL) {
        snprintf(errstr, sizeof(errstr), "value refused by librdkafka (not shown: secret)");
    }
    return fy_err_set(err, FY_ECONFIG, "%s:%d:%d: rdkafka.%s: %s", file, kv->line, kv->col,
                      kv->key, errstr);
}

rd_kafka_conf_t *fy_kafka_conf_build(const struct fy_kafka *k, struct fy_err *err)
{
    rd_kafka_conf_t *c = NULL;
    int tls = k->security_protocol == FY_KAFKA_SSL || k->security_protocol == FY_KAFKA_SASL_SSL;
    int sasl = k->security_protocol == FY_KAFKA_SASL_PLAINTEXT ||
               k->security_protocol == FY_KAFKA_SASL_SSL;
    size_t i;

    if (fy_kafka_conf_check(k, err) != FY_OK) {
        goto fail;
    }
    c = rd_kafka_conf_new();
    if (c == NULL) {
        fy_err_set(err, FY_ENOMEM, "out of memory");
        goto fail;
    }
    if (set(c, "bootstrap.servers", k->brokers, 0, err) != FY_OK ||
        set(c, "client.id", k->client_id, 0, err) != FY_OK ||
        set(c, "compression.codec", fy_kafka_conf_compression[k->compression], 0, err) != FY_OK ||
        set_num(c, "linger.ms", k->linger_ms, err) != FY_OK ||
        set_num(c, "message.timeout.ms", k->message_timeout_ms, err) != FY_OK ||
        set_num(c, "queue.buffering.max.messages", k->max_inflight, err) != FY_OK ||
        set(c, "security.protocol", fy_kafka_conf_protocols[k->security_protocol], 0, err) !=
            FY_OK) {
        goto fail;
    }
    if (sasl && (set(c, "sasl.mechanism", fy_kafka_conf_mechanisms[k->sasl_mechanism], 0, err) !=
                     FY_OK ||
                 set(c, "sasl.username", k->sasl_username, 0, err) != FY_OK ||
                 set(c, "sasl.password", k->sasl_password, 1, err) != FY_OK)) {
        goto fail;
    }
    if (tls && (set(c, "ssl.ca.location", k->ssl_ca_location, 0, err) != FY_OK ||
                set(c, "ssl.certificate.location", k->ssl_certificate_location, 0, err) !=
                    FY_OK ||
                set(c, "ssl.key.location", k->ssl_key_location, 0, err) != FY_OK ||
                set(c, "ssl.key.password", k->ssl_key_password, 1, err) != FY_OK)) {
        goto fail;
    }
    /* docs/reliability.md, "Kafka sink": idempotent producer, acks=all. The pass-throughs cannot undo these
     * (reserved above), so they are set once here. */
    if (set(c, "enable.idempotence", "true", 0, err) != FY_OK ||
        set(c, "acks", "all", 0, err) != FY_OK) {
        goto fail;
    }
    for (i = 0; i < k->rdkafka.n; i++) {
        if (set_passthrough(c, &k->rdkafka.items[i], err) != FY_OK) {
            goto fail;
        }
    }
    return c;
fail:
    if (c != NULL) {
        rd_kafka_conf_destroy(c);
    }
    return NULL;
}
