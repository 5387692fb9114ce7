/* engine/alert.h - what other parts of the engine may ask an alert node (node_alert.c). */
#ifndef ENGINE_ALERT_H
#define ENGINE_ALERT_H
#include "engine/alert_handlers.h"
#include "engine/task.h"

/** Own-counter indexes of an alert node (n->stats.own[i]), named as in Kapacitor's node stats. */
enum eng_alert_counter {
    ENG_ALERT_TRIGGERED = 0, /* alerts_triggered: events that went out */
    ENG_ALERT_OKS,           /* oks_triggered */
    ENG_ALERT_INFOS,         /* infos_triggered */
    ENG_ALERT_WARNS,         /* warns_triggered */
    ENG_ALERT_CRITS,         /* crits_triggered */
    ENG_ALERT_INHIBITED,     /* alerts_inhibited: events held back by .inhibit() */
    ENG_ALERT_SENT,          /* events_sent: (event, handler) pairs queued to handlers */
    ENG_ALERT_DROPPED,       /* events_dropped: pairs refused by a full handler lane */
};

/** The node's `.topic()` (empty when none): for an eng_env_t.alert_event that files events. */
fa_str_t eng_alert_topic(const eng_node_t *n);
/** The node's i-th handler (NULL past the end, or when the env has no handler service). */
eng_alert_handler_t *eng_alert_handler(const eng_node_t *n, uint32_t i);
#endif
