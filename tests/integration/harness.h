/* harness.h - helpers for integration and fault tests against the real brokers started by
 * scripts/services (ctest fixture `services`): addresses, a ferry child process, an MQTT
 * publisher, a Kafka consumer. Every wait is a bounded poll. */
#ifndef FY_HARNESS_H
#define FY_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fy_h_kmsg;

/* Addresses of the running services (from the environment or $FERRY_SERVICES_DIR/env).
 * Returns 0, or -1 when the services are not running. Strings are static. */
int fy_h_services(const char **mqtt_url, const char **kafka_brokers);

/* The AWS-compatible endpoints of `scripts/services aws-up` (moto: one without and one with
 * signature checks) and the python with boto3 for tests/support/aws_tool.py, from the
 * environment or $FERRY_SERVICES_DIR/env. 0, or -1 when AWS is not running. Static strings. */
int fy_h_aws(const char **endpoint, const char **auth_endpoint, const char **python);
/* Run tests/support/aws_tool.py --endpoint endpoint <args> and return its stdout (malloc'ed,
 * NUL-terminated; NULL when it could not run). *status gets its exit status. */
char *fy_h_aws_tool(const char *endpoint, int *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An access key of the signature-checking moto instance: made once per services run with
 * aws_tool.py iam-key and kept in $FERRY_SERVICES_DIR/aws-auth.key for the next test (moto
 * serves only a few requests unchecked). 0 or -1. */
int fy_h_aws_key(char *id, size_t id_size, char *secret, size_t secret_size);

/* Read back an SQS queue (kind "sqs", name = queue URL: received and deleted) or a Kinesis
 * stream (kind "kinesis", name = stream, every shard in sequence order) through aws_tool.py,
 * until expect items (0 = until nothing more comes) or timeout_s, as Kafka-like messages
 * (key = message group or partition key, value = the envelope) for fy_h_oracle_check.
 * Returns the number read; *out freed with fy_h_kmsgs_free. */
size_t fy_h_aws_read(const char *kind, const char *name, size_t expect, int timeout_s,
                     struct fy_h_kmsg **out);

/* Scale a timeout by FERRY_TEST_TIMEOUT_MULTIPLIER (default 1). */
int fy_h_ms(int ms);
/* A loopback TCP port that was free a moment ago (for an admin listener), or -1. */
int fy_h_free_port(void);

/* A unique name (prefix + pid + counter), e.g. for Kafka topics and client ids. */
const char *fy_h_unique(const char *prefix);

/* Run a command through /bin/sh; returns its exit status (or -1). */
int fy_h_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct fy_h_ferry {
    pid_t pid;
    char dir[256];      /* temp dir: ferry.yaml, ferry.log, journal/ */
    char config[300];
    char log[300];
};

/* Write yaml (with "@DIR@" replaced by h->dir) into a new temp dir and start
 * `$FERRY_BIN run -c ferry.yaml`, stderr to ferry.log. Waits up to 20 s for the "running:"
 * line. Returns 0, or -1 (and prints the log) when it did not start. */
int fy_h_ferry_start(struct fy_h_ferry *h, const char *yaml);
/* Only the first half of fy_h_ferry_start: the temp dir and ferry.yaml, so a test can add
 * files before fy_h_ferry_restart starts Ferry. */
int fy_h_ferry_prepare(struct fy_h_ferry *h, const char *yaml);
/* Start again with the same dir/config (after a kill). */
int fy_h_ferry_restart(struct fy_h_ferry *h);
/* fy_h_ferry_restart with env ("NAME=value" strings, NULL-terminated) set for Ferry only,
 * e.g. an LD_PRELOAD fault shim (ASan is told to accept it). */
int fy_h_ferry_restart_env(struct fy_h_ferry *h, const char *const *env);
/* Start again without waiting for the "running:" line (to kill it while it recovers). */
int fy_h_ferry_spawn(struct fy_h_ferry *h);
/* Signal and wait up to timeout_ms for exit; returns the exit code, 128+sig, or -1. */
int fy_h_ferry_stop(struct fy_h_ferry *h, int sig, int timeout_ms);
/* 1 when the log contains text. */
int fy_h_log_contains(const struct fy_h_ferry *h, const char *text);
/* Wait up to timeout_ms for text in the log. */
int fy_h_wait_log(const struct fy_h_ferry *h, const char *text, int timeout_ms);
/* Remove the temp dir (after the test). */
void fy_h_ferry_cleanup(struct fy_h_ferry *h);

/* Publish one message (QoS 0..2) with a short-lived Paho client; 0 when the broker acked. */
int fy_h_publish(const char *url, const char *topic, const void *payload, size_t len, int qos);

/* Run bench_loadgen (FERRY_LOADGEN) with the given arguments; returns its exit status. */
int fy_h_loadgen(const char *url, const char *args);

/* A consumed Kafka message. */
struct fy_h_kmsg {
    char *key;
    char *value;
    size_t value_len;
    char rec_type[128];
    char event_type[32];
    char id[64];
    int32_t partition;
    int64_t offset;
};

/* Consume topic from the beginning until count messages or timeout_ms of silence after the
 * last message (or overall timeout_ms when none arrive). *out is malloc'ed (free with
 * fy_h_kmsgs_free). Returns the number consumed. */
size_t fy_h_consume(const char *brokers, const char *topic, size_t count, int timeout_ms,
                    struct fy_h_kmsg **out);
void fy_h_kmsgs_free(struct fy_h_kmsg *m, size_t n);

#endif

/* The standard test configuration: MQTT source "ns" (client_id, optional $share group),
 * Kafka sink "kafka", routes for The Things Stack v3 (recType io.test.tts) and ChirpStack v4
 * (io.test.cs) into kafka_topic, journal in @DIR@/journal. journal_extra (may be "") is added
 * under `journal:`, sink_extra under the Kafka sink (both as indented YAML lines). */
void fy_h_config(char *out, size_t size, const char *url, const char *brokers,
                 const char *kafka_topic, const char *client_id, const char *share_group,
                 const char *journal_extra, const char *sink_extra);

/* The oracle for uplinks from bench_loadgen (device d has devEUI 70b3d57ed0<d as 6 hex>,
 * fCnt = its sequence): which (device, fCnt) arrived, whether per-device first appearances
 * are in increasing fCnt order, and how many duplicates. */
struct fy_h_oracle {
    size_t received;        /* messages looked at */
    size_t unique;          /* distinct (device, fCnt) */
    size_t duplicates;      /* received - unique */
    size_t order_violations;
    size_t foreign;         /* messages that are not loadgen uplinks */
};

/* Check msgs against devices x [first_seq, first_seq + per_device). Returns the number of
 * expected (device, fCnt) pairs that are missing. */
size_t fy_h_oracle_check(const struct fy_h_kmsg *msgs, size_t n, unsigned devices,
                         uint32_t first_seq, uint32_t per_device, struct fy_h_oracle *o);

/* Start bench_loadgen in the background; returns its pid (or -1). */
pid_t fy_h_loadgen_start(const char *url, const char *args);
/* Wait up to timeout_ms for pid; returns its exit status, or -1 on time-out (it is killed). */
int fy_h_wait_pid(pid_t pid, int timeout_ms);
/* Run scripts/services VERB against the test services. */
int fy_h_services_do(const char *verb);
/* An integer knob from the environment, or def. */
long fy_h_knob(const char *name, long def);

/* The test HTTPS server (tests/support/https_server.py) with a certificate made for this run:
 * fills dir (temp dir holding cert.pem, key.pem, requests.jsonl), *port and *pid. 0 or -1. */
int fy_h_https_start(char *dir, size_t dir_size, int *port, pid_t *pid);
void fy_h_https_stop(const char *dir, pid_t pid);
