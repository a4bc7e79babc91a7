/* sqs.c - the sqs sink: envelopes into an Amazon SQS queue with SendMessageBatch (JSON
 * protocol, SigV4), standard and FIFO queues.
 *
 * DESIGN: records collect into batches of up to 10 entries and max_message_bytes in total on
 * the shared HTTP request queue (sinks/http_queue.h), one batch per queue URL. Every entry
 * carries the message attributes recType, event_type and id; on a FIFO queue (its URL ends
 * in .fifo) MessageGroupId is the device key (or the message_group_id template) and
 * MessageDeduplicationId the envelope id, so SQS itself drops a copy sent again within its
 * 5-minute window. FIFO queues use the queue's lanes: one pending record per message group,
 * so a record that failed alone is sent again before any later record of its group. An entry
 * in Failed[] with SenderFault=false is sent again alone (entry_retries), SenderFault=true is
 * rejected with SQS's code and message; a record SQS would refuse (size, characters) is
 * rejected before it is sent. Request-level errors: aws_sink.c. */
#include "sinks/aws/aws_sink.h"
#include "sinks/record_template.h"

#include "core/log.h"
#include "core/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqs {
    struct fy_aws_sink aws; /* first: FY_AWS_OPTS fill it */
    char *queue_url;
    char *group_tpl;        /* message_group_id template, NULL = the device key */
    int64_t batch_max_records, max_message_bytes;
    int fifo;
};

static const struct fy_opt sqs_opts[] = {
    FY_OPT_STR("queue_url", NULL, FY_REQUIRED, offsetof(struct sqs, queue_url),
               "queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>; a name ending "
               "in .fifo is a FIFO queue)"),
    FY_OPT_STR("message_group_id", NULL, 0, offsetof(struct sqs, group_tpl),
               "FIFO queues: MessageGroupId template over envelope fields, e.g. "
               "{applicationId}; default the record's device key (devEUI, else "
               "applicationId/deviceId)"),
    FY_OPT_INT("batch_max_records", "10", 1, 10, offsetof(struct sqs, batch_max_records),
               "messages per SendMessageBatch (SQS allows 10)"),
    FY_OPT_INT("max_message_bytes", "262144", 1024, 1048576,
               offsetof(struct sqs, max_message_bytes),
               "the queue's MaximumMessageSize: per message and per batch (larger records "
               "are dead letters)"),
    FY_AWS_OPTS(struct sqs, "8"),
    {0},
};

static int is_fifo(const char *url)
{
    size_t n = strlen(url);

    return n > 5 && strcmp(url + n - 5, ".fifo") == 0;
}

static int sqs_check(void *ctx, struct fy_err *err)
{
    struct sqs *s = ctx;
    char shown[512];

    fy_redact_url(s->queue_url, shown, sizeof(shown));
    if (strncmp(s->queue_url, "https://", 8) != 0 &&
        !(s->aws.allow_insecure && strncmp(s->queue_url, "http://", 7) == 0)) {
        return fy_err_set(err, FY_ECONFIG, "queue_url '%s': expected https://sqs.<region>."
                          "amazonaws.com/<account>/<queue> (http:// only with allow_insecure: "
                          "true)", shown);
    }
    if (strchr(s->queue_url + 8, '/') == NULL || strlen(s->queue_url) > 2048) {
        return fy_err_set(err, FY_ECONFIG, "queue_url '%s': expected "
                          "https://sqs.<region>.amazonaws.com/<account>/<queue>", shown);
    }
    s->fifo = is_fifo(s->queue_url);
    if (s->group_tpl != NULL) {
        if (!s->fifo) {
            return fy_err_set(err, FY_ECONFIG, "message_group_id: only FIFO queues (a "
                              "queue_url ending in .fifo) have message groups");
        }
        if (fy_sink_tmpl_check("message_group_id", s->group_tpl, s->group_tpl, err) !=
            FY_OK) {
            return FY_ECONFIG;
        }
    }
    return fy_aws_sink_check(&s->aws, "sqs", err);
}

static int start(void *arg, struct fy_hq_batch *b, CURL **easy, char *reason, size_t rsize)
{
    struct sqs *s = arg;
    struct fy_err err = {0};
    int fifo = is_fifo(b->target); /* a route's topic may name a queue of the other kind */
    size_t i;

    fy_buf_init(&b->req, FY_SQS_REQUEST_MAX(s->max_message_bytes));
    if (fy_sqs_batch_begin(&b->req, b->target, &err) != FY_OK) {
        snprintf(reason, rsize, "%s", err.msg);
        return err.code == FY_ENOMEM ? FY_ENOMEM : FY_EINVAL;
    }
    for (i = 0; i < b->n; i++) {
        struct fy_record rec;
        char id[8], dedup[FY_SQS_FIFO_ID_MAX + 1];
        fy_aws_item_record(&b->items[i], &rec);
        snprintf(id, sizeof(id), "%zu", i);
        if (fifo) {
            fy_sqs_fifo_id(rec.id, dedup);
        }
        if (fy_sqs_batch_add(&b->req, id, &rec, fifo ? b->items[i].attr : NULL,
                             fifo ? dedup : NULL, &err) != FY_OK) {
            snprintf(reason, rsize, "%s", err.msg); /* checked at submit: not expected */
            return err.code == FY_ENOMEM ? FY_ENOMEM : FY_EINVAL;
        }
    }
    if (fy_sqs_batch_end(&b->req, &err) != FY_OK) {
        snprintf(reason, rsize, "%s", err.msg);
        return FY_ENOMEM;
    }
    return fy_aws_sink_request(&s->aws, b, easy, reason, rsize);
}

static void done(void *arg, struct fy_hq_batch *b, CURL *e, CURLcode result, long status)
{
    struct sqs *s = arg;

    (void)e;
    fy_aws_sink_done(&s->aws, b, result, status, fy_sqs_error_parse, fy_sqs_batch_result, "SendMessageBatch");
}

static int sqs_init(struct fy_sink *snk, void *ctx, struct fy_err *err)
{
    static const struct fy_hq_ops ops = {.start = start, .done = done};
    struct sqs *s = ctx;
    struct fy_hq_conf qc = {0};

    s->aws.snk = snk;
    if (sqs_check(s, err) != FY_OK) {
        return FY_ECONFIG;
    }
    qc.max_records = (size_t)s->batch_max_records;
    qc.max_bytes = (size_t)s->max_message_bytes;
    qc.lanes = 1; /* for FIFO queues (records of standard ones have no lane key): message
                   * order is a FIFO queue's promise, per group */
    return fy_aws_sink_init(&s->aws, snk, "sqs", FY_SQS_TARGET, FY_SQS_CONTENT_TYPE, &qc, &ops,
                            s, err);
}

static int sqs_submit(void *ctx, const struct fy_record *rec, const char *dest,
                      uint64_t ticket)
{
    struct sqs *s = ctx;
    const char *url = dest != NULL && *dest != '\0' ? dest : s->queue_url;
    struct fy_err err = {0};
    char group[FY_SQS_FIFO_ID_MAX + 1] = "";
    int fifo = is_fifo(url);
    int rc;

    if (fy_sqs_entry_check(rec, (size_t)s->max_message_bytes, &err) != FY_OK) {
        fy_sink_complete(s->aws.snk, ticket, FY_SINK_REJECT, err.msg);
        return FY_OK;
    }
    if (fifo) {
        char *g = NULL;
        if (s->group_tpl != NULL) {
            if (fy_sink_tmpl_render(s->group_tpl, rec, FY_TEMPLATE_RAW, 4096, &g, &err) !=
                FY_OK) {
                if (err.code == FY_ENOMEM) {
                    return FY_EAGAIN;
                }
                fy_sink_complete(s->aws.snk, ticket, FY_SINK_REJECT, err.msg);
                return FY_OK;
            }
        }
        fy_sqs_fifo_id(g != NULL ? g : rec->key != NULL && *rec->key != '\0' ? rec->key : "-",
                       group);
        free(g);
    }
    rc = fy_hq_add(s->aws.q, url, NULL, rec, fifo ? group : NULL, fifo ? group : NULL,
                   fy_sqs_entry_size(rec), ticket);
    return rc == FY_OK ? FY_OK : FY_EAGAIN; /* ETOOBIG cannot happen: checked above */
}

const struct fy_sink_plugin fy_sink_sqs = {
    .abi = FY_SINK_ABI,
    .name = "sqs",
    .description = "Amazon SQS queues, standard and FIFO (SendMessageBatch, SigV4)",
    .opts = sqs_opts,
    .ctx_size = sizeof(struct sqs),
    .init = sqs_init,
    .submit = sqs_submit,
    .poll = fy_aws_sink_poll,
    .drain = fy_aws_sink_drain,
    .exit = fy_aws_sink_exit_ctx,
    .max_inflight = 2000,
    .check = sqs_check,
};
