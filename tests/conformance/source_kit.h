/* source_kit.h - the source conformance kit: what every source owes the core
 * (sources/source.h), checked through the public contract only, so a new source gets the same
 * checks from a short test.
 *
 * Each check makes its own instances of plugin from "name: kit\ntype: <plugin>\n" + yaml (YAML
 * lines at top level; every instance of a check, and every check, uses the same yaml, so a
 * remote that keeps per-client state, like an MQTT persistent session, sees one client) with
 * the kit's own emit callback, and reports through CUnit assertions with a message on stderr.
 *
 * Messages: publish(arg, id) makes the remote send message id, whose payload must be
 * fy_source_kit_payload(id); the kit counts emits by that id. Only ids whose publish returned
 * 0 are owed. Each check uses fresh ids, so a late redelivery from an earlier check is told
 * apart (printed as "earlier ids", not a failure).
 *
 * Every create, start, stop and destroy runs under a watchdog (timeout_ms): a call that does
 * not return is a failure, and because the plugin may then hold shared state (a library lock),
 * the kit's later checks in the process are skipped with a message instead of hanging. */
#ifndef FY_SOURCE_KIT_H
#define FY_SOURCE_KIT_H

#include "sources/source.h"

#include <stddef.h>

struct fy_source_kit {
    const char *plugin;  /* registry name (`type:`) */
    const char *yaml;    /* the source's options, top-level YAML lines */
    int (*publish)(void *arg, int id); /* make the remote send message id; 0 when it took it */
    void *arg;
    int messages;        /* per check (default 40) */
    int timeout_ms;      /* per wait: connect, arrivals, a lifecycle call (default 15000; scaled
                            by FERRY_TEST_TIMEOUT_MULTIPLIER) */
    int (*restart_remote)(void *arg); /* optional: restart the remote (check (d)); 0 on success */
    int skip_eio;        /* 1: check (b) runs only its FY_EAGAIN variant (for a plugin with a
                            known defect in the FY_EIO one: say which at the call site) */
};

/* The payload publish must send for message id (NUL-terminated); returns its length. */
size_t fy_source_kit_payload(int id, char *buf, size_t size);

/* (a) every published message is emitted with FY_OK exactly once; the source is stopped while
 * messages keep coming, started again (start/stop/start on one instance), and every message
 * the remote took meanwhile is emitted after the second start; no emit after
 * fy_source_stop/fy_source_destroy returns. */
int fy_source_kit_deliver(const struct fy_source_kit *k);

/* (b) ack only after FY_OK. Variant 1: emit answers FY_EAGAIN to message k the first 3 times:
 * the source retries it by itself, it is stored once, nothing else is lost. Variant 2: emit
 * answers FY_EIO to message k every time; the kit stops and destroys the instance and creates
 * a new one (same yaml, so the same client id / persistent session): k must be emitted to the
 * new instance (the remote redelivers it: it was never acknowledged), and so must every later
 * message; no emit from the first instance after its stop returned. */
int fy_source_kit_ack(const struct fy_source_kit *k);

/* (c) after fy_source_pause no emit while messages are published; after fy_source_resume
 * every one of them arrives, once. */
int fy_source_kit_pause(const struct fy_source_kit *k);

/* (d) k->restart_remote while the source runs: messages published afterwards arrive (once)
 * without the kit restarting the source. Skipped (0) without restart_remote. */
int fy_source_kit_reconnect(const struct fy_source_kit *k);

/* (e) an unknown key and a bad value (for the first INT, BOOL and ENUM option of the table not
 * set in yaml) are refused by fy_source_create (check only) with a "FILE:LINE:COL: " message
 * naming the key. */
int fy_source_kit_option_errors(const struct fy_source_kit *k);

#endif
