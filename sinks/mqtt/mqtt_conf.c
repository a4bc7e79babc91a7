/* mqtt_conf.c - the MQTT sink's options, and the checks of them that need no broker. */
#include "sinks/mqtt/mqtt_conf.h"

#include "core/hostport.h"
#include "sinks/record_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fy_mqttsink_protocols[] = {"5", "3.1.1", NULL};

#define OFF(f) offsetof(struct fy_mqttsink, f)

const struct fy_opt fy_mqttsink_conf_opts[] = {
    FY_OPT_STR("url", NULL, FY_REQUIRED, OFF(url),
               "broker: tcp://host:port or mqtt:// (1883), ssl:// or mqtts:// (TLS, 8883)"),
    FY_OPT_STR("topic", "ferry/{recType}/{devEUI}", 0, OFF(topic),
               "topic template when the route gives none"),
    FY_OPT_INT("qos", "1", 0, 1, OFF(qos),
               "0: OK once written to the socket; 1: OK on the broker's PUBACK"),
    FY_OPT_BOOL("retain", "false", OFF(retain), "publish with the retain flag"),
    FY_OPT_STR("client_id", NULL, 0, OFF(client_id),
               "fixed client id of the persistent session (default ferry-sink-<sink name>)"),
    FY_OPT_STR("username", NULL, 0, OFF(username), "user name"),
    FY_OPT_STR("password", NULL, FY_SECRET, OFF(password), "password"),
    FY_OPT_ENUM("protocol", "5", fy_mqttsink_protocols, OFF(protocol), "MQTT version"),
    FY_OPT_INT("session_expiry_s", "86400", 1, 4294967295LL, OFF(session_expiry_s),
               "MQTT 5 session expiry (3.1.1 sessions do not expire)"),
    FY_OPT_INT("keepalive_s", "30", 5, 65535, OFF(keepalive_s), "keep-alive interval"),
    FY_OPT_INT("reconnect_min_s", "1", 1, 3600, OFF(reconnect_min_s), "first reconnect delay"),
    FY_OPT_INT("reconnect_max_s", "30", 1, 3600, OFF(reconnect_max_s),
               "longest reconnect delay (doubling from reconnect_min_s)"),
    FY_OPT_INT("max_inflight", "100", 1, 65535, OFF(max_inflight),
               "records published and not yet acknowledged"),
    FY_OPT_INT("ack_timeout_ms", "30000", 100, 3600000, OFF(ack_timeout_ms),
               "a record unacknowledged this long, or waiting this long for a connection, is RETRY"),
    FY_OPT_STR("tls_ca_file", NULL, 0, OFF(tls_ca_file),
               "CA bundle (PEM); default: the system's CAs"),
    FY_OPT_STR("tls_cert_file", NULL, 0, OFF(tls_cert_file), "client certificate (PEM)"),
    FY_OPT_STR("tls_key_file", NULL, 0, OFF(tls_key_file), "client key (PEM)"),
    FY_OPT_STR("tls_key_password", NULL, FY_SECRET, OFF(tls_key_password),
               "client key password"),
    FY_OPT_BOOL("tls_verify", "true", OFF(tls_verify),
                "verify the broker certificate and host name"),
    {0},
};

/* url: scheme://host[:port], no user-info (username/password are options, so a secret is
 * never part of a URL that is logged), no path. */
static int parse_url(struct fy_mqttsink *m, struct fy_err *err)
{
    static const struct {
        const char *scheme;
        int tls;
    } schemes[] = {{"tcp://", 0}, {"mqtt://", 0}, {"ssl://", 1}, {"mqtts://", 1}};
    const char *hp = NULL, *colon;
    size_t i, n, hn;
    char *end;
    long port;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strncmp(m->url, schemes[i].scheme, strlen(schemes[i].scheme)) == 0) {
            hp = m->url + strlen(schemes[i].scheme);
            m->tls = schemes[i].tls;
            break;
        }
    }
    if (hp == NULL) {
        return fy_err_set(err, FY_ECONFIG, "url: expected tcp://, mqtt://, ssl:// or mqtts:// "
                          "followed by host:port");
    }
    if (strchr(hp, '@') != NULL) {
        return fy_err_set(err, FY_ECONFIG, "url: user-info is not allowed (use the username and "
                          "password options)");
    }
    n = strlen(hp);
    if (n > 0 && hp[n - 1] == '/') {
        n--;
    }
    if (fy_hostport_check(hp, n, 1, err) != FY_OK) {
        fy_err_prefix(err, "url: ");
        return err->code;
    }
    /* the port follows the last ':' unless that is inside "[...]" */
    colon = NULL;
    for (i = n; i > 0; i--) {
        if (hp[i - 1] == ':') {
            colon = hp + i - 1;
            break;
        }
        if (hp[i - 1] == ']') {
            break;
        }
    }
    hn = colon != NULL ? (size_t)(colon - hp) : n;
    if (hn >= 2 && hp[0] == '[' && hp[hn - 1] == ']') {
        hp++, hn -= 2;
    }
    if (hn == 0 || hn >= sizeof(m->host)) {
        return fy_err_set(err, FY_ECONFIG, "url: bad host");
    }
    memcpy(m->host, hp, hn);
    m->host[hn] = '\0';
    m->port = m->tls ? 8883 : 1883;
    if (colon != NULL) {
        port = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || port < 1 || port > 65535) {
            return fy_err_set(err, FY_ECONFIG, "url: bad port");
        }
        m->port = (int)port;
    }
    return FY_OK;
}

int fy_mqttsink_conf_check(struct fy_mqttsink *m, struct fy_err *err)
{
    if (parse_url(m, err) != FY_OK) {
        return err->code;
    }
    if (m->topic == NULL || m->topic[0] == '\0') {
        return fy_err_set(err, FY_ECONFIG, "topic must not be empty");
    }
    if (strpbrk(m->topic, "+#") != NULL) {
        return fy_err_set(err, FY_ECONFIG, "topic '%s': '+' and '#' are wildcards, not allowed "
                          "in a topic to publish to", m->topic);
    }
    if (fy_sink_tmpl_check("topic", m->topic, m->topic, err) != FY_OK) {
        return err->code;
    }
    if (m->client_id != NULL && (m->client_id[0] == '\0' || strlen(m->client_id) > 65535)) {
        return fy_err_set(err, FY_ECONFIG, "client_id must be 1..65535 bytes (a fixed id keeps "
                          "the session)");
    }
    if (!m->tls && (m->tls_ca_file != NULL || m->tls_cert_file != NULL ||
                    m->tls_key_file != NULL || m->tls_key_password != NULL)) {
        return fy_err_set(err, FY_ECONFIG, "tls_* options are set but the url is not ssl:// or "
                          "mqtts://");
    }
    if ((m->tls_cert_file == NULL) != (m->tls_key_file == NULL)) {
        return fy_err_set(err, FY_ECONFIG, "tls_cert_file and tls_key_file go together (client "
                          "certificate authentication)");
    }
    if (m->password != NULL && m->username == NULL) {
        return fy_err_set(err, FY_ECONFIG, "password is set without username");
    }
    if (m->reconnect_max_s < m->reconnect_min_s) {
        return fy_err_set(err, FY_ECONFIG, "reconnect_max_s (%lld) must not be below "
                          "reconnect_min_s (%lld)", (long long)m->reconnect_max_s,
                          (long long)m->reconnect_min_s);
    }
    return FY_OK;
}
