/* aws_body.h - request and response bodies of SQS SendMessageBatch and Kinesis PutRecords
 * (AWS JSON protocols 1.0 and 1.1), for the sqs and kinesis sinks: pure functions, no I/O.
 *
 * A sink builds one request body per batch into a fy_buf (begin, add per record, end), sends
 * it with SigV4 (core/http), and reads the answer with the batch-result parser on 2xx or the
 * error-body parser otherwise. Both parsers fill one struct fy_aws_result per record with the
 * outcome the sink completes it with (OK / RETRY / REJECT) and a reason ready for
 * fy_sink_complete(); they never fail to fill it, even for a malformed answer.
 *
 * SQS:     POST /, X-Amz-Target: AmazonSQS.SendMessageBatch,
 *          Content-Type: application/x-amz-json-1.0
 * Kinesis: POST /, X-Amz-Target: Kinesis_20131202.PutRecords,
 *          Content-Type: application/x-amz-json-1.1 */
#ifndef FY_AWS_BODY_H
#define FY_AWS_BODY_H

#include "core/buf.h"
#include "core/err.h"
#include "core/record.h"
#include "sinks/sink.h"

#include <stddef.h>

#define FY_SQS_TARGET "AmazonSQS.SendMessageBatch"
#define FY_SQS_CONTENT_TYPE "application/x-amz-json-1.0"
#define FY_KINESIS_TARGET "Kinesis_20131202.PutRecords"
#define FY_KINESIS_CONTENT_TYPE "application/x-amz-json-1.1"

/* ==== limits ==== */

#define FY_SQS_MAX_ENTRIES 10       /* entries per SendMessageBatch */
#define FY_SQS_MAX_BYTES 262144     /* per message and per batch total: 256 KiB, what every
                                     * queue accepts; a queue's MaximumMessageSize may be set
                                     * from 1024 up to 1 MiB, so the functions take the max */
#define FY_SQS_ENTRY_ID_MAX 80      /* batch entry Id: [A-Za-z0-9_-]{1,80} */
#define FY_SQS_FIFO_ID_MAX 128      /* MessageGroupId, MessageDeduplicationId */
/* fy_buf maximum that always holds a batch within max_bytes: JSON escaping at most doubles the
 * body and attribute values (control characters other than TAB, LF, CR are refused), plus
 * the keys, entry ids, FIFO ids and a queue URL of up to 2048 bytes. */
#define FY_SQS_REQUEST_MAX(max_bytes) (2 * (size_t)(max_bytes) + 65536)

#define FY_KINESIS_MAX_RECORDS 500
#define FY_KINESIS_MAX_RECORD_BYTES 1048576   /* data + partition key, per record: 1 MiB */
#define FY_KINESIS_MAX_REQUEST_BYTES 5242880  /* data + partition keys, per request: 5 MiB */
#define FY_KINESIS_KEY_MAX_CHARS 256          /* partition key: 1..256 Unicode characters */
/* fy_buf maximum that always holds a request within the limits: base64 of 5 MiB is under
 * 6.7 MiB, 500 partition keys escaped are under 1 MiB, keys and a 2048-byte ARN the rest. */
#define FY_KINESIS_REQUEST_MAX ((size_t)8 * 1024 * 1024)

/* ==== SQS SendMessageBatch request ==== */

/* Start a request body in b (which is reset first): {"QueueUrl":"...","Entries":[
 * FY_EINVAL with a reason when queue_url is NULL, empty, longer than 2048 bytes, not UTF-8 or
 * has control characters; the buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). */
int fy_sqs_batch_begin(struct fy_buf *b, const char *queue_url, struct fy_err *err);

/* Append one entry for rec to a body started with fy_sqs_batch_begin: Id entry_id,
 * MessageBody the envelope JSON as a string, MessageAttributes recType, event_type and id
 * (each {"DataType":"String","StringValue":...}, left out when empty), and for a FIFO queue
 * MessageGroupId / MessageDeduplicationId when not NULL. Borrows every argument.
 * FY_EINVAL with a reason, leaving b unchanged, when entry_id does not match
 * [A-Za-z0-9_-]{1,80}, the body or an attribute value fails fy_sqs_body_ok(), or a FIFO id
 * fails fy_sqs_fifo_id_ok(); the buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). It does not
 * check sizes nor count entries: the sink does, with fy_sqs_entry_check() and
 * fy_sqs_batch_fits(). */
int fy_sqs_batch_add(struct fy_buf *b, const char *entry_id, const struct fy_record *rec,
                     const char *group_id, const char *dedup_id, struct fy_err *err);

/* Close the body: ]} . The buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). */
int fy_sqs_batch_end(struct fy_buf *b, struct fy_err *err);

/* Check s[0..len) as SQS checks a message body or a String attribute value: non-empty,
 * well-formed UTF-8, and only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF.
 * FY_OK, or FY_EINVAL with a reason naming the byte offset and code point ("U+FFFE at byte
 * 17 is not allowed in an SQS message"), and that offset in *bad_off (may be NULL). */
int fy_sqs_body_ok(const char *s, size_t len, size_t *bad_off, struct fy_err *err);

/* Size of rec as SQS counts it against max_bytes: the body plus, for each attribute sent,
 * its name, its type ("String") and its value, in bytes. */
size_t fy_sqs_entry_size(const struct fy_record *rec);

/* Whether SQS would take rec as one message of a queue whose limit is max_bytes: FY_OK,
 * FY_EINVAL (body or attribute characters, see fy_sqs_body_ok), FY_ETOOBIG ("message is
 * 262145 bytes, over the queue's 262144"); the reason suits a dead letter. */
int fy_sqs_entry_check(const struct fy_record *rec, size_t max_bytes, struct fy_err *err);

/* 1 when an entry of entry_bytes may join a batch that already holds n entries of batch_bytes
 * in total (fewer than FY_SQS_MAX_ENTRIES, total at most max_bytes), else 0. */
int fy_sqs_batch_fits(size_t n, size_t batch_bytes, size_t entry_bytes, size_t max_bytes);

/* 1 when s is a valid MessageGroupId / MessageDeduplicationId: 1..128 characters, each
 * alphanumeric or punctuation (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~, that is 0x21..0x7E); else 0
 * with a reason in err (may be NULL). */
int fy_sqs_fifo_id_ok(const char *s, struct fy_err *err);

/* Write into out a valid FIFO id for s (a device key or an envelope id): s itself when
 * fy_sqs_fifo_id_ok(s); otherwise s with each byte outside 0x21..0x7E replaced by '_', cut to
 * 111 bytes, then "~" and 16 hex digits of SHA-256(s), so that different inputs stay
 * different (a dedup id collision would drop a message). Deterministic, so a redelivered
 * record gets the same id. Returns 0 when s was kept, 1 when it was rewritten, -1 on a
 * hashing failure (out is then ""). */
int fy_sqs_fifo_id(const char *s, char out[FY_SQS_FIFO_ID_MAX + 1]);

/* ==== Kinesis PutRecords request ==== */

/* Start a request body in b (reset first): {"StreamName":"...","StreamARN":"...","Records":[
 * At least one of stream_name ([a-zA-Z0-9_.-]{1,128}) and stream_arn
 * (arn:aws...:kinesis:...:stream/..., at most 2048 bytes) must be given; FY_EINVAL with a
 * reason otherwise; the buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). */
int fy_kinesis_batch_begin(struct fy_buf *b, const char *stream_name, const char *stream_arn,
                           struct fy_err *err);

/* Append {"Data":base64(envelope JSON),"PartitionKey":...}. Borrows rec and partition_key.
 * FY_EINVAL (b unchanged) when fy_kinesis_key_ok() refuses the key; FY_ENOMEM for the base64
 * copy; the buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). Sizes are the sink's to check
 * with fy_kinesis_entry_size() and fy_kinesis_batch_fits(). */
int fy_kinesis_batch_add(struct fy_buf *b, const struct fy_record *rec,
                         const char *partition_key, struct fy_err *err);

/* Close the body: ]} . The buffer's FY_ETOOBIG/FY_ENOMEM (then b is freed). */
int fy_kinesis_batch_end(struct fy_buf *b, struct fy_err *err);

/* 1 when key is well-formed UTF-8 of 1..256 code points; else 0 with a reason (err may be
 * NULL). */
int fy_kinesis_key_ok(const char *key, struct fy_err *err);

/* Size Kinesis counts for rec: data bytes (before base64) plus the partition key's bytes. */
size_t fy_kinesis_entry_size(const struct fy_record *rec, const char *partition_key);

/* 1 when a record of entry_bytes may join a request that already holds n records of
 * request_bytes (fewer than 500 records, the record at most 1 MiB, the total at most 5 MiB),
 * else 0. A record over 1 MiB never fits: the sink dead-letters it. */
int fy_kinesis_batch_fits(size_t n, size_t request_bytes, size_t entry_bytes);

/* ==== answers ==== */

#define FY_AWS_CODE_MAX 96     /* error code, "AWS.SimpleQueueService.NonExistentQueue" */
#define FY_AWS_MESSAGE_MAX 200 /* an error message is cut to this many bytes */
#define FY_AWS_ID_MAX 136      /* MessageId, SequenceNumber (up to 129 digits), ShardId */

enum fy_aws_state {
    FY_AWS_UNKNOWN = 0, /* not in the answer (or the answer was unreadable): RETRY */
    FY_AWS_SENT,        /* accepted: SQS Successful[], Kinesis SequenceNumber */
    FY_AWS_FAILED       /* refused, with a code: SQS Failed[], Kinesis ErrorCode, error body */
};

/* The outcome for one record. Always fully set by the parsers below. */
struct fy_aws_result {
    enum fy_aws_state state;
    enum fy_sink_result res;  /* what to complete the record with */
    int auth;                 /* RETRY because of credentials or the signature (they may be
                               * rotated); the reason then starts with "auth: " */
    int sender_fault;         /* SQS Failed[].SenderFault; 0 otherwise */
    int http_status;          /* the error body's status; 0 for a 2xx answer */
    char code[FY_AWS_CODE_MAX];            /* "" when sent; namespace before '#' dropped */
    char message[FY_AWS_MESSAGE_MAX + 1];  /* AWS's words, cut, control chars as spaces */
    char reason[256];                      /* for fy_sink_complete(); "" when sent */
    char ref[FY_AWS_ID_MAX];               /* SQS MessageId / Kinesis SequenceNumber */
    char shard_id[FY_AWS_ID_MAX];          /* Kinesis ShardId */
};

/* Read a 2xx SendMessageBatch answer, {"Successful":[{Id, MessageId, MD5OfMessageBody...}],
 * "Failed":[{Id, SenderFault, Code, Message}]}, for a batch of n entries whose Ids were the
 * batch indexes "0".."n-1" (n <= FY_SQS_MAX_ENTRIES). results[0..n) is always filled: SENT,
 * FAILED (classified with fy_sqs_classify) or UNKNOWN (RETRY: an entry in neither list).
 * FY_OK when the answer was complete and consistent; FY_EDECODE with a reason when it was not
 * JSON, lacked both lists, had an entry without an Id (or a Failed one without Code), an Id
 * that is no batch index, or an Id twice (that entry is then UNKNOWN); FY_EINVAL for bad
 * arguments (results untouched). */
int fy_sqs_batch_result(const char *json, size_t len, size_t n, struct fy_aws_result *results,
                        struct fy_err *err);

/* Read a 2xx PutRecords answer, {"FailedRecordCount":1,"Records":[{SequenceNumber, ShardId} |
 * {ErrorCode, ErrorMessage}], "EncryptionType":"KMS"}, for a request of n records
 * (n <= FY_KINESIS_MAX_RECORDS; Records answer them in order). results[0..n) is always
 * filled as for SQS. FY_EDECODE with a reason when the answer is not JSON, has no Records
 * array, has another number of entries than n, an entry with neither outcome, or a
 * FailedRecordCount that disagrees with the entries; FY_EINVAL for bad arguments. */
int fy_kinesis_batch_result(const char *json, size_t len, size_t n,
                            struct fy_aws_result *results, struct fy_err *err);

/* Read the body of a non-2xx answer, {"__type":"com.amazonaws.sqs#QueueDoesNotExist",
 * "message":"..."} (also "code"/"Code", "Message"; a ":..." suffix after the code is
 * dropped), into out (FAILED, classified with the status). When the body gives no code, out
 * is classified by http_status alone (429 and 5xx RETRY, other 4xx REJECT) and FY_EDECODE is
 * returned with a reason; out is filled in every case but FY_EINVAL (out NULL). */
int fy_sqs_error_parse(const char *json, size_t len, int http_status,
                       struct fy_aws_result *out, struct fy_err *err);
int fy_kinesis_error_parse(const char *json, size_t len, int http_status,
                           struct fy_aws_result *out, struct fy_err *err);

/* Classify an SQS error code (namespace and "AWS.SimpleQueueService." prefix optional):
 * RETRY for throttling (ThrottlingException, RequestThrottled, KmsThrottled,
 * KMS.ThrottlingException), ServiceUnavailable, InternalError/InternalFailure; RETRY with
 * *auth = 1 for signature and credential errors (InvalidSignatureException,
 * SignatureDoesNotMatch, UnrecognizedClientException, ExpiredToken, InvalidClientTokenId,
 * IncompleteSignature, MissingAuthenticationToken, RequestExpired); REJECT for the permanent
 * ones (QueueDoesNotExist/NonExistentQueue, AccessDenied, InvalidParameterValue,
 * InvalidMessageContents, BatchRequestTooLong, TooManyEntriesInBatchRequest, Kms* other than
 * throttling, ...). An unknown code goes by http_status when it is 4xx/5xx (429 and 5xx
 * RETRY), else by sender_fault (REJECT when set). auth may be NULL. */
enum fy_sink_result fy_sqs_classify(const char *code, int sender_fault, int http_status,
                                    int *auth);

/* Classify a Kinesis error code: RETRY for ProvisionedThroughputExceededException,
 * LimitExceededException, KMSThrottlingException, InternalFailure, ServiceUnavailable,
 * ResourceInUseException; auth RETRY as for SQS (ExpiredTokenException, ...); REJECT for
 * ResourceNotFoundException, AccessDeniedException, InvalidArgumentException, the other KMS*
 * errors, ValidationException. An unknown code goes by http_status when it is 4xx/5xx, else
 * RETRY. auth may be NULL. */
enum fy_sink_result fy_kinesis_classify(const char *code, int http_status, int *auth);

#endif
