/* kafka.c - Kafka sink (librdkafka). Placeholder plugin record; the implementation lands next. */
#include "sinks/sink.h"

const struct fy_sink_plugin fy_sink_kafka = {
    .abi = FY_SINK_ABI,
    .name = "kafka",
    .description = "Apache Kafka producer (librdkafka)",
};
