/* mqtt.c - MQTT source (Paho MQTTAsync). Placeholder plugin record; the implementation lands next. */
#include "bridge/sources/source.h"

const struct fy_source_plugin fy_source_mqtt = {
    .abi = FY_SOURCE_ABI,
    .name = "mqtt",
    .description = "MQTT subscriber (Eclipse Paho, MQTT 3.1.1 and 5)",
};
