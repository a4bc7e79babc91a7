/* sink_kit.h - the sink conformance kit: what every sink owes the core (sinks/sink.h), checked
 * through the public contract only, so a new sink gets the same checks from a 20-line test.
 *
 * Each check makes its own instance of plugin from "name: kit\ntype: <plugin>\n" + yaml (YAML
 * lines at top level) and reports through CUnit assertions with a message on stderr. */
#ifndef FY_SINK_KIT_H
#define FY_SINK_KIT_H

#include "sinks/sink.h"

struct fy_sink_kit {
    const char *plugin;   /* registry name (`type:`) */
    const char *yaml;     /* the sink's options, top-level YAML lines */
    int records;          /* how many records to deliver (default 200) */
    int timeout_ms;       /* per check: completions and drain (default 20000; scaled) */
    enum fy_sink_result expect; /* what every completion must be: OK (a live receiver) or
                                   RETRY (a dead endpoint) */
    const char *reason;   /* optional: every completion that is not OK must have this text in
                             its reason (e.g. "auth: " for a wrong secret) */
};

/* (a) every accepted submit completes exactly once, with k->expect (completions counted per
 * ticket); (b) after FY_EAGAIN no completion arrives for that ticket, and the kit polls and
 * resubmits it (never more than fy_sink_max_inflight outstanding, as the host); (c) a burst
 * submitted and then drained at once (as on stop) is completed within the timeout and drain
 * returns FY_OK; no single submit/poll/drain call blocks longer than the
 * timeout. Returns the number of failed checks. */
int fy_sink_kit_deliver(const struct fy_sink_kit *k);

/* (d) an unknown key and a bad value (for the first INT, BOOL and ENUM option of the table)
 * are refused by fy_sink_create with a "FILE:LINE:COL: " message naming the key. */
int fy_sink_kit_option_errors(const struct fy_sink_kit *k);

/* (e) every FY_SECRET string option of the plugin, set to a canary, never appears in an error
 * text, a completion reason or a log line (the process log is sent to a temp file at debug
 * level for the duration) during a failing run: an option error beside it, and a delivery run
 * with k->yaml (meant to fail: use a dead endpoint). Returns the number of failed checks. */
int fy_sink_kit_secrets(const struct fy_sink_kit *k);

#endif
