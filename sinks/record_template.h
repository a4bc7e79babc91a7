/* record_template.h - templates over one record's envelope fields, for the sink options that
 * address or key a record (a webhook's URL and headers, an SQS message group, a Kinesis
 * partition key): {recType}, {deviceId}, {devEUI}, {applicationId}, {tenantId}, with the one
 * template engine (core/template.h). */
#ifndef FY_SINK_RECORD_TEMPLATE_H
#define FY_SINK_RECORD_TEMPLATE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/record.h"
#include "core/template.h"

#include <cjson/cJSON.h>

/* Check tpl's {names}; FY_OK or FY_ECONFIG with what is wrong. The message names the option
 * (what) and shows the template as shown (secrets redacted), never tpl itself. */
int fy_sink_tmpl_check(const char *what, const char *tpl, const char *shown, struct fy_err *err);

/* Expand tpl for rec into out, NUL included in out->len; obj is the envelope's "obj" (parsed
 * by the caller, who may expand several templates from one parse). FY_OK, or FY_EINVAL with
 * the reason in err (a field is missing, a header value has a control character, or the
 * result is over out->max: the record cannot be addressed and is rejected), FY_ENOMEM. */
int fy_sink_tmpl_expand(const char *tpl, const struct fy_record *rec, const cJSON *obj,
                        enum fy_template_escape escape, struct fy_buf *out, struct fy_err *err);

/* Parse rec's envelope and expand tpl into *out (malloc'ed, at most max bytes). An empty
 * result is FY_EINVAL too. */
int fy_sink_tmpl_render(const char *tpl, const struct fy_record *rec,
                        enum fy_template_escape escape, size_t max, char **out,
                        struct fy_err *err);

#endif
