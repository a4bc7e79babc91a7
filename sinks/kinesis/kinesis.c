/* kinesis.c - the kinesis sink: envelopes into an Amazon Kinesis data stream with PutRecords
 * (JSON protocol, SigV4), partition key = the device key or a template.
 *
 * DESIGN: records collect into requests of up to 500 records and 5 MiB on the shared HTTP
 * request queue (sinks/http_queue.h), one request per stream. PutRecords may accept some
 * records of a request and refuse others (FailedRecordCount, ErrorCode per record); a
 * refused record is sent again alone (entry_retries, with back-off) and then handed to the
 * core's retry policy. Per-device order: with `ordered: true` (the default) the queue's lanes
 * keep one pending record per partition key, so no request ever holds two records of one
 * key and a later record of a key is never written before an earlier one that failed
 * (docs/reliability.md "Per-device order in batching sinks"). Request-level errors:
 * aws_sink.c. */
#include "sinks/aws/aws_sink.h"
#include "sinks/record_template.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kinesis {
    struct fy_aws_sink aws; /* first: FY_AWS_OPTS fill it */
    char *stream_name, *stream_arn;
    char *key_tpl;          /* partition_key template, NULL = the device key */
    int64_t batch_max_records, batch_max_bytes;
    int ordered;
};

static const struct fy_opt kinesis_opts[] = {
    FY_OPT_STR("stream_name", NULL, 0, offsetof(struct kinesis, stream_name),
               "data stream name (or stream_arn)"),
    FY_OPT_STR("stream_arn", NULL, 0, offsetof(struct kinesis, stream_arn),
               "data stream ARN (arn:aws:kinesis:<region>:<account>:stream/<name>)"),
    FY_OPT_STR("partition_key", NULL, 0, offsetof(struct kinesis, key_tpl),
               "PartitionKey template over envelope fields; default the record's device key (devEUI, "
               "else applicationId/deviceId), else its envelope id"),
    FY_OPT_BOOL("ordered", "true", offsetof(struct kinesis, ordered),
                "keep per-device order when PutRecords refuses some records of a request "
                "(one pending record per partition key)"),
    FY_OPT_INT("batch_max_records", "500", 1, 500, offsetof(struct kinesis, batch_max_records),
               "records per PutRecords (Kinesis allows 500)"),
    FY_OPT_INT("batch_max_bytes", "5M", 1024, 5242880, offsetof(struct kinesis, batch_max_bytes),
               "data and partition keys per PutRecords (Kinesis allows 5 MiB)"),
    FY_AWS_OPTS(struct kinesis, "4"),
    {0},
};

static int kinesis_check(void *ctx, struct fy_err *err)
{
    struct kinesis *k = ctx;
    struct fy_buf probe;
    struct fy_err why = {0};
    int rc;

    if (k->stream_name == NULL && k->stream_arn == NULL) {
        return fy_err_set(err, FY_ECONFIG, "stream_name or stream_arn: one is required");
    }
    fy_buf_init(&probe, 4096);
    rc = fy_kinesis_batch_begin(&probe, k->stream_name, k->stream_arn, &why);
    fy_buf_free(&probe);
    if (rc != FY_OK) {
        return fy_err_set(err, FY_ECONFIG, "%s", why.msg);
    }
    if (k->key_tpl != NULL &&
        fy_sink_tmpl_check("partition_key", k->key_tpl, k->key_tpl, err) != FY_OK) {
        return FY_ECONFIG;
    }
    return fy_aws_sink_check(&k->aws, "kinesis", err);
}

static int start(void *arg, struct fy_hq_batch *b, CURL **easy, char *reason, size_t rsize)
{
    struct kinesis *k = arg;
    const char *name = b->target[0] != '\0' ? b->target : k->stream_name;
    struct fy_err err = {0};
    size_t i;

    fy_buf_init(&b->req, FY_KINESIS_REQUEST_MAX);
    if (fy_kinesis_batch_begin(&b->req, name, b->target[0] != '\0' ? NULL : k->stream_arn,
                               &err) != FY_OK) {
        snprintf(reason, rsize, "%s", err.msg);
        return err.code == FY_ENOMEM ? FY_ENOMEM : FY_EINVAL;
    }
    for (i = 0; i < b->n; i++) {
        struct fy_record rec;
        fy_aws_item_record(&b->items[i], &rec);
        if (fy_kinesis_batch_add(&b->req, &rec, b->items[i].attr, &err) != FY_OK) {
            snprintf(reason, rsize, "%s", err.msg); /* checked at submit: not expected */
            return err.code == FY_ENOMEM ? FY_ENOMEM : FY_EINVAL;
        }
    }
    if (fy_kinesis_batch_end(&b->req, &err) != FY_OK) {
        snprintf(reason, rsize, "%s", err.msg);
        return FY_ENOMEM;
    }
    return fy_aws_sink_request(&k->aws, b, easy, reason, rsize);
}

static void done(void *arg, struct fy_hq_batch *b, CURL *e, CURLcode result, long status)
{
    struct kinesis *k = arg;

    (void)e;
    fy_aws_sink_done(&k->aws, b, result, status, fy_kinesis_error_parse, fy_kinesis_batch_result, "PutRecords");
}

static int kinesis_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    static const struct fy_hq_ops ops = {.start = start, .done = done};
    struct kinesis *k = ctx;
    struct fy_hq_conf qc = {0};

    k->aws.snk = snk;
    if (kinesis_check(k, err) != FY_OK) {
        return FY_ECONFIG;
    }
    qc.max_records = (size_t)k->batch_max_records;
    qc.max_bytes = (size_t)k->batch_max_bytes;
    qc.lanes = k->ordered;
    return fy_aws_sink_init(&k->aws, snk, "kinesis", FY_KINESIS_TARGET,
                            FY_KINESIS_CONTENT_TYPE, &qc, &ops, k, err);
}

static int kinesis_submit(void *ctx, const struct fy_record *rec, const char *dest,
                          uint64_t ticket)
{
    struct kinesis *k = ctx;
    struct fy_err err = {0};
    const char *key = rec->key != NULL && *rec->key != '\0' ? rec->key : rec->id;
    char *rendered = NULL;
    size_t size;
    int rc;

    if (k->key_tpl != NULL) {
        if (fy_sink_tmpl_render(k->key_tpl, rec, FY_TEMPLATE_RAW, 1024, &rendered, &err) !=
            FY_OK) {
            if (err.code == FY_ENOMEM) {
                return FY_EAGAIN;
            }
            fy_sink_complete(k->aws.snk, ticket, FY_SINK_REJECT, err.msg);
            return FY_OK;
        }
        key = rendered;
    }
    size = fy_kinesis_entry_size(rec, key);
    if (!fy_kinesis_key_ok(key, &err) || size > FY_KINESIS_MAX_RECORD_BYTES) {
        if (size > FY_KINESIS_MAX_RECORD_BYTES) {
            fy_err_set(&err, FY_ETOOBIG, "record is %zu bytes with its partition key, over "
                       "Kinesis' %d per record", size, FY_KINESIS_MAX_RECORD_BYTES);
        }
        free(rendered);
        fy_sink_complete(k->aws.snk, ticket, FY_SINK_REJECT, err.msg);
        return FY_OK;
    }
    rc = fy_hq_add(k->aws.q, dest, NULL, rec, key, key,
                   size < (size_t)k->batch_max_bytes ? size : (size_t)k->batch_max_bytes,
                   ticket);
    free(rendered);
    return rc == FY_OK ? FY_OK : FY_EAGAIN;
}

const struct fy_sink_plugin fy_sink_kinesis = {
    .abi = FY_SINK_ABI,
    .name = "kinesis",
    .description = "Amazon Kinesis Data Streams (PutRecords, SigV4), per-device order kept",
    .opts = kinesis_opts,
    .ctx_size = sizeof(struct kinesis),
    .init = kinesis_init,
    .submit = kinesis_submit,
    .poll = fy_aws_sink_poll,
    .drain = fy_aws_sink_drain,
    .exit = fy_aws_sink_exit_ctx,
    .max_inflight = 5000,
    .check = kinesis_check,
};
