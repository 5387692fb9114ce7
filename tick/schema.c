/* tick/schema.c - every TICKscript node type and property of KAPACITOR.md section 3, in one table.
 * To add a node: add its property list and one row to `nodes` (the engine maps node names). */
#include <string.h>
#include "tick/schema.h"

#define END { NULL, NULL, NULL }
#define P(n, s) { n, s, NULL }
#define H(n, s, spec) { n, s, &spec }

#define S TICK_EDGE_STREAM
#define B TICK_EDGE_BATCH
#define ANY TICK_EDGE_ANY

/* ---- properties every node has --------------------------------------------------------- */
static const tick_prop_spec_t common_props[] = { P("quiet", ""), END };

/* ---- alert handlers (each is an object with its own options; alert properties stay usable) */
static const tick_prop_spec_t post_props[] = {
    P("endpoint", "s"), P("header", "s s"), P("captureResponse", ""), P("timeout", "d"),
    P("skipSSLVerification", ""), END };
static const tick_prop_spec_t tcp_props[] = { END };
static const tick_prop_spec_t email_props[] = { P("to", "s*"), END };
static const tick_prop_spec_t exec_props[] = { END };
static const tick_prop_spec_t log_h_props[] = { P("mode", "i"), END };
static const tick_prop_spec_t victorops_props[] = { P("routingKey", "s"), END };
static const tick_prop_spec_t pagerduty_props[] = { P("serviceKey", "s"), END };
static const tick_prop_spec_t pagerduty2_props[] = { P("routingKey", "s"), P("link", "s s?"), END };
static const tick_prop_spec_t pushover_props[] = {
    P("userKey", "s"), P("device", "s"), P("title", "s"), P("uRL", "s"), P("uRLTitle", "s"),
    P("sound", "s"), END };
static const tick_prop_spec_t sensu_props[] = {
    P("source", "s"), P("handlers", "s*"), P("metadata", "s a"), END };
static const tick_prop_spec_t slack_props[] = {
    P("workspace", "s"), P("channel", "s"), P("username", "s"), P("iconEmoji", "s"), END };
static const tick_prop_spec_t discord_props[] = {
    P("workspace", "s"), P("username", "s"), P("avatarURL", "s"), P("embedTitle", "s"), END };
static const tick_prop_spec_t bigpanda_props[] = {
    P("appKey", "s"), P("primaryProperty", "s"), P("secondaryProperty", "s"), P("topic", "s"), END };
static const tick_prop_spec_t telegram_props[] = {
    P("chatId", "s"), P("parseMode", "s"), P("disableWebPagePreview", ""),
    P("disableNotification", ""), END };
static const tick_prop_spec_t hipchat_props[] = { P("room", "s"), P("token", "s"), END };
static const tick_prop_spec_t alerta_props[] = {
    P("token", "s"), P("resource", "s"), P("event", "s"), P("environment", "s"), P("group", "s"),
    P("value", "s"), P("origin", "s"), P("services", "s*"), P("correlated", "s*"),
    P("timeout", "d"), END };
static const tick_prop_spec_t opsgenie_props[] = { P("teams", "s*"), P("recipients", "s*"), END };
static const tick_prop_spec_t opsgenie2_props[] = {
    P("teams", "s*"), P("recipients", "s*"), P("priority", "s"), END };
static const tick_prop_spec_t talk_props[] = { END };
static const tick_prop_spec_t mqtt_props[] = {
    P("brokerName", "s"), P("qos", "i"), P("retained", ""), END };
static const tick_prop_spec_t snmptrap_props[] = { P("data", "s s s"), END };
static const tick_prop_spec_t kafka_props[] = {
    P("cluster", "s"), P("kafkaTopic", "s"), P("template", "s"), P("disablePartitionById", ""),
    P("partitionAlgorithm", "s"), END };
static const tick_prop_spec_t teams_props[] = { P("channelURL", "s"), END };
static const tick_prop_spec_t servicenow_props[] = {
    P("source", "s"), P("node", "s"), P("type", "s"), P("resource", "s"), P("metricName", "s"),
    P("messageKey", "s"), END };
static const tick_prop_spec_t zenoss_props[] = {
    P("action", "s"), P("method", "s"), P("type", "s"), P("tid", "i"), P("collector", "s"),
    P("severityMap", "s s s s"), END };

#define HANDLER(var, nm, go, props) \
    static const tick_node_spec_t var = { nm, nm, go, "", 0, TICK_PROV_SAME, TICK_NF_HANDLER, NULL, props, NULL }
HANDLER(h_post, "post", "*pipeline.AlertPostHandler", post_props);
HANDLER(h_tcp, "tcp", "*pipeline.TcpHandler", tcp_props);
HANDLER(h_email, "email", "*pipeline.EmailHandler", email_props);
HANDLER(h_exec, "exec", "*pipeline.ExecHandler", exec_props);
HANDLER(h_log, "log", "*pipeline.LogHandler", log_h_props);
HANDLER(h_victorops, "victorOps", "*pipeline.VictorOpsHandler", victorops_props);
HANDLER(h_pagerduty, "pagerDuty", "*pipeline.PagerDutyHandler", pagerduty_props);
HANDLER(h_pagerduty2, "pagerDuty2", "*pipeline.PagerDuty2Handler", pagerduty2_props);
HANDLER(h_pushover, "pushover", "*pipeline.PushoverHandler", pushover_props);
HANDLER(h_sensu, "sensu", "*pipeline.SensuHandler", sensu_props);
HANDLER(h_slack, "slack", "*pipeline.SlackHandler", slack_props);
HANDLER(h_discord, "discord", "*pipeline.DiscordHandler", discord_props);
HANDLER(h_bigpanda, "bigPanda", "*pipeline.BigPandaHandler", bigpanda_props);
HANDLER(h_telegram, "telegram", "*pipeline.TelegramHandler", telegram_props);
HANDLER(h_hipchat, "hipChat", "*pipeline.HipChatHandler", hipchat_props);
HANDLER(h_alerta, "alerta", "*pipeline.AlertaHandler", alerta_props);
HANDLER(h_opsgenie, "opsGenie", "*pipeline.OpsGenieHandler", opsgenie_props);
HANDLER(h_opsgenie2, "opsGenie2", "*pipeline.OpsGenie2Handler", opsgenie2_props);
HANDLER(h_talk, "talk", "*pipeline.TalkHandler", talk_props);
HANDLER(h_mqtt, "mqtt", "*pipeline.MQTTHandler", mqtt_props);
HANDLER(h_snmptrap, "snmpTrap", "*pipeline.SnmpTrapHandler", snmptrap_props);
HANDLER(h_kafka, "kafka", "*pipeline.KafkaHandler", kafka_props);
HANDLER(h_teams, "teams", "*pipeline.TeamsHandler", teams_props);
HANDLER(h_servicenow, "serviceNow", "*pipeline.ServiceNowHandler", servicenow_props);
HANDLER(h_zenoss, "zenoss", "*pipeline.ZenossHandler", zenoss_props);

/* ---- node properties -------------------------------------------------------------------- */
static const tick_prop_spec_t no_props[] = { END };
static const tick_prop_spec_t from_props[] = {
    P("database", "s"), P("retentionPolicy", "s"), P("measurement", "s"), P("where", "l"),
    P("groupBy", "slS*"), P("groupByMeasurement", ""), P("truncate", "d"), P("round", "d"), END };
static const tick_prop_spec_t query_props[] = {
    P("period", "d"), P("every", "d"), P("cron", "s"), P("offset", "d"), P("align", ""),
    P("alignGroup", ""), P("groupBy", "sSt*"), P("groupByMeasurement", ""), P("fill", "sif?"),
    P("cluster", "s"), END };
static const tick_prop_spec_t queryflux_props[] = {
    P("period", "d"), P("every", "d"), P("cron", "s"), P("offset", "d"), P("align", ""),
    P("org", "s"), P("orgID", "s"), P("cluster", "s"), END };
static const tick_prop_spec_t window_props[] = {
    P("period", "d"), P("every", "d"), P("periodCount", "i"), P("everyCount", "i"),
    P("align", ""), P("fillPeriod", ""), END };
static const tick_prop_spec_t groupby_props[] = { P("exclude", "s*"), P("byMeasurement", ""), END };
static const tick_prop_spec_t eval_props[] = {
    P("as", "s*"), P("tags", "s*"), P("keep", "s*"), END };
static const tick_prop_spec_t derivative_props[] = {
    P("unit", "d"), P("nonNegative", ""), P("as", "s"), END };
static const tick_prop_spec_t default_props[] = { P("field", "s a"), P("tag", "s s"), END };
static const tick_prop_spec_t delete_props[] = { P("field", "s"), P("tag", "s"), END };
static const tick_prop_spec_t stats_props[] = { P("align", ""), END };
static const tick_prop_spec_t statecount_props[] = { P("as", "s"), END };
static const tick_prop_spec_t stateduration_props[] = { P("as", "s"), P("unit", "d"), END };
static const tick_prop_spec_t join_props[] = {
    P("as", "s*"), P("on", "s*"), P("delimiter", "s"), P("tolerance", "d"), P("fill", "sif"),
    P("streamName", "s"), END };
static const tick_prop_spec_t union_props[] = { P("rename", "s"), END };
static const tick_prop_spec_t combine_props[] = {
    P("as", "s*"), P("delimiter", "s"), P("tolerance", "d"), P("max", "i"), END };
static const tick_prop_spec_t flatten_props[] = {
    P("on", "s*"), P("delimiter", "s"), P("tolerance", "d"), P("dropOriginalFieldName", "b?"), END };
static const tick_prop_spec_t barrier_props[] = { P("idle", "d"), P("period", "d"), P("delete", "b"), END };
static const tick_prop_spec_t sideload_props[] = {
    P("source", "s"), P("order", "s*"), P("field", "s a"), P("tag", "s s"), END };
static const tick_prop_spec_t log_props[] = { P("level", "s"), P("prefix", "s"), END };
static const tick_prop_spec_t influxdbout_props[] = {
    P("cluster", "s"), P("database", "s"), P("retentionPolicy", "s"), P("measurement", "s"),
    P("writeConsistency", "s"), P("precision", "s"), P("buffer", "i"), P("flushInterval", "d"),
    P("tag", "s s"), P("create", ""), END };
static const tick_prop_spec_t httppost_props[] = {
    P("endpoint", "s"), P("header", "s s"), P("captureResponse", ""), P("codeField", "s"),
    P("timeout", "d"), END };
static const tick_prop_spec_t loopback_props[] = {
    P("database", "s"), P("retentionPolicy", "s"), P("measurement", "s"), P("tag", "s s"), END };
static const tick_prop_spec_t influxql_props[] = { P("as", "s"), P("usePointTimes", ""), END };
static const tick_prop_spec_t k8s_props[] = {
    P("cluster", "s"), P("namespace", "s"), P("kind", "s"), P("resourceName", "s"),
    P("resourceNameTag", "s"), P("currentField", "s"), P("max", "i"), P("min", "i"),
    P("replicas", "l"), P("increaseCooldown", "d"), P("decreaseCooldown", "d"),
    P("namespaceTag", "s"), P("kindTag", "s"), P("resourceTag", "s"), END };
static const tick_prop_spec_t swarm_props[] = {
    P("cluster", "s"), P("serviceName", "s"), P("serviceNameTag", "s"), P("outputServiceNameTag", "s"),
    P("currentField", "s"), P("max", "i"), P("min", "i"), P("replicas", "l"),
    P("increaseCooldown", "d"), P("decreaseCooldown", "d"), END };
static const tick_prop_spec_t ec2_props[] = {
    P("cluster", "s"), P("groupName", "s"), P("groupNameTag", "s"), P("outputGroupNameTag", "s"),
    P("currentField", "s"), P("max", "i"), P("min", "i"), P("replicas", "l"),
    P("increaseCooldown", "d"), P("decreaseCooldown", "d"), END };
static const tick_prop_spec_t alert_props[] = {
    P("id", "s"), P("message", "s"), P("details", "s"), P("topic", "s"),
    P("info", "l"), P("warn", "l"), P("crit", "l"),
    P("infoReset", "l"), P("warnReset", "l"), P("critReset", "l"),
    P("stateChangesOnly", "d?"), P("noRecoveries", ""), P("all", ""),
    P("flapping", "f f"), P("history", "i"), P("inhibit", "s s*"), P("category", "s"),
    P("levelTag", "s"), P("levelField", "s"), P("messageField", "s"), P("durationField", "s"),
    P("idTag", "s"), P("idField", "s"),
    H("post", "s?", h_post), H("tcp", "s", h_tcp), H("email", "s*", h_email),
    H("exec", "s s*", h_exec), H("log", "s", h_log), H("victorOps", "", h_victorops),
    H("pagerDuty", "", h_pagerduty), H("pagerDuty2", "", h_pagerduty2),
    H("pushover", "", h_pushover), H("sensu", "", h_sensu), H("slack", "", h_slack),
    H("discord", "", h_discord), H("bigPanda", "", h_bigpanda), H("telegram", "", h_telegram),
    H("hipChat", "", h_hipchat), H("alerta", "", h_alerta), H("opsGenie", "", h_opsgenie),
    H("opsGenie2", "", h_opsgenie2), H("talk", "", h_talk), H("mqtt", "s?", h_mqtt),
    H("snmpTrap", "s", h_snmptrap), H("kafka", "", h_kafka), H("teams", "", h_teams),
    H("serviceNow", "", h_servicenow), H("zenoss", "", h_zenoss),
    END };

static const char *const req_as[] = { "as", NULL };

/* ---- node types -------------------------------------------------------------------------- */
#define N(nm, desc, go, sig, wants, prov, flags, parent, props, req) \
    { nm, desc, go, sig, wants, prov, flags, parent, props, req }
#define IQL(nm, sig, prov) \
    N(nm, nm, "*pipeline.InfluxQLNode", sig, ANY, prov, TICK_NF_INFLUXQL, NULL, influxql_props, NULL)

static const tick_node_spec_t nodes[] = {
    N("stream", "stream", "*pipeline.StreamNode", "", 0, S, TICK_NF_SOURCE, NULL, no_props, NULL),
    N("batch", "batch", "*pipeline.BatchNode", "", 0, B, TICK_NF_SOURCE, NULL, no_props, NULL),
    N("from", "from", "*pipeline.FromNode", "", S, S, TICK_NF_NOCHAIN, "stream", from_props, NULL),
    N("query", "query", "*pipeline.QueryNode", "s", B, B, TICK_NF_NOCHAIN, "batch", query_props, NULL),
    N("queryFlux", "queryFlux", "*pipeline.QueryFluxNode", "s", B, B, TICK_NF_NOCHAIN, "batch", queryflux_props, NULL),
    N("where", "where", "*pipeline.WhereNode", "l", ANY, TICK_PROV_SAME, 0, NULL, no_props, NULL),
    N("eval", "eval", "*pipeline.EvalNode", "l*", ANY, TICK_PROV_SAME, 0, NULL, eval_props, req_as),
    N("groupBy", "groupby", "*pipeline.GroupByNode", "slS*", ANY, TICK_PROV_SAME, 0, NULL, groupby_props, NULL),
    N("window", "window", "*pipeline.WindowNode", "", S, B, 0, NULL, window_props, NULL),
    N("alert", "alert", "*pipeline.AlertNode", "", ANY, TICK_PROV_SAME, 0, NULL, alert_props, NULL),
    N("influxDBOut", "influxdb_out", "*pipeline.InfluxDBOutNode", "", ANY, TICK_PROV_NONE, 0, NULL, influxdbout_props, NULL),
    N("httpOut", "http_out", "*pipeline.HTTPOutNode", "s", ANY, TICK_PROV_SAME, 0, NULL, no_props, NULL),
    N("httpPost", "http_post", "*pipeline.HTTPPostNode", "s*", ANY, TICK_PROV_SAME, 0, NULL, httppost_props, NULL),
    N("kapacitorLoopback", "kapacitor_loopback", "*pipeline.KapacitorLoopbackNode", "", S, TICK_PROV_NONE, 0, NULL, loopback_props, NULL),
    N("join", "join", "*pipeline.JoinNode", "n*", ANY, TICK_PROV_SAME, TICK_NF_MULTI, NULL, join_props, req_as),
    N("union", "union", "*pipeline.UnionNode", "n*", ANY, TICK_PROV_SAME, TICK_NF_MULTI, NULL, union_props, NULL),
    N("combine", "combine", "*pipeline.CombineNode", "l l*", ANY, TICK_PROV_SAME, 0, NULL, combine_props, req_as),
    N("flatten", "flatten", "*pipeline.FlattenNode", "", ANY, TICK_PROV_SAME, 0, NULL, flatten_props, NULL),
    N("barrier", "barrier", "*pipeline.BarrierNode", "", ANY, TICK_PROV_SAME, 0, NULL, barrier_props, NULL),
    N("sample", "sample", "*pipeline.SampleNode", "id", ANY, TICK_PROV_SAME, 0, NULL, no_props, NULL),
    N("derivative", "derivative", "*pipeline.DerivativeNode", "s", ANY, TICK_PROV_SAME, 0, NULL, derivative_props, NULL),
    N("changeDetect", "changeDetect", "*pipeline.ChangeDetectNode", "s s*", ANY, TICK_PROV_SAME, 0, NULL, no_props, NULL),
    N("shift", "shift", "*pipeline.ShiftNode", "d", ANY, TICK_PROV_SAME, 0, NULL, no_props, NULL),
    N("log", "log", "*pipeline.LogNode", "", ANY, TICK_PROV_SAME, 0, NULL, log_props, NULL),
    N("default", "default", "*pipeline.DefaultNode", "", ANY, TICK_PROV_SAME, 0, NULL, default_props, NULL),
    N("delete", "delete", "*pipeline.DeleteNode", "", ANY, TICK_PROV_SAME, 0, NULL, delete_props, NULL),
    N("stateDuration", "state_duration", "*pipeline.StateDurationNode", "l", ANY, TICK_PROV_SAME, 0, NULL, stateduration_props, NULL),
    N("stateCount", "state_count", "*pipeline.StateCountNode", "l", ANY, TICK_PROV_SAME, 0, NULL, statecount_props, NULL),
    N("sideload", "sideload", "*pipeline.SideloadNode", "", ANY, TICK_PROV_SAME, 0, NULL, sideload_props, NULL),
    N("trickle", "trickle", "*pipeline.TrickleNode", "", B, S, 0, NULL, no_props, NULL),
    N("stats", "stats", "*pipeline.StatsNode", "d", ANY, S, 0, NULL, stats_props, NULL),
    N("deadman", "deadman", "*pipeline.AlertNode", "f d l?", ANY, TICK_PROV_SAME, 0, NULL, alert_props, NULL),
    N("k8sAutoscale", "k8s_autoscale", "*pipeline.K8sAutoscaleNode", "", S, S, 0, NULL, k8s_props, NULL),
    N("swarmAutoscale", "swarm_autoscale", "*pipeline.SwarmAutoscaleNode", "", S, S, 0, NULL, swarm_props, NULL),
    N("ec2Autoscale", "ec2_autoscale", "*pipeline.Ec2AutoscaleNode", "", S, S, 0, NULL, ec2_props, NULL),
    /* InfluxQL functions: aggregates and single selectors give one point (a stream), top,
     * bottom, distinct and holtWinters a batch, transforms the kind they get. */
    IQL("count", "s", S), IQL("distinct", "s", B), IQL("mean", "s", S), IQL("median", "s", S),
    IQL("mode", "s", S), IQL("spread", "s", S), IQL("sum", "s", S), IQL("stddev", "s", S),
    IQL("first", "s", S), IQL("last", "s", S), IQL("min", "s", S), IQL("max", "s", S),
    IQL("percentile", "s f", S), IQL("top", "i s s*", B), IQL("bottom", "i s s*", B),
    IQL("difference", "s", TICK_PROV_SAME), IQL("elapsed", "s d", TICK_PROV_SAME),
    IQL("movingAverage", "s i", TICK_PROV_SAME), IQL("cumulativeSum", "s", TICK_PROV_SAME),
    IQL("holtWinters", "s i i d", B), IQL("holtWintersWithFit", "s i i d", B),
};

const tick_node_spec_t *tick_schema_nodes(size_t *n)
{
    *n = sizeof nodes / sizeof nodes[0];
    return nodes;
}

const tick_node_spec_t *tick_schema_node(fa_str_t name)
{
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
        if (fa_str_eq_c(name, nodes[i].name))
            return &nodes[i];
    return NULL;
}

static const tick_prop_spec_t *find_prop(const tick_prop_spec_t *list, fa_str_t name)
{
    for (; list && list->name; list++)
        if (fa_str_eq_c(name, list->name))
            return list;
    return NULL;
}

const tick_prop_spec_t *tick_schema_prop(const tick_node_spec_t *s, fa_str_t name)
{
    const tick_prop_spec_t *p = find_prop(s->props, name);

    return p ? p : find_prop(common_props, name);
}
