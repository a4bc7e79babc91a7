#!/bin/sh
# Writes server.properties from the environment, formats the KRaft storage on first start
# (the cluster id is kept in the volume's meta.properties), then becomes the broker (PID 1,
# so SIGTERM from docker stop gives a controlled shutdown).
#
# One listener (KAFKA_LISTEN_ADDRESS:KAFKA_PORT, advertised as KAFKA_ADVERTISED_HOST) by
# default, as on a host network. On a compose network, set the listener lists in full:
#   KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS, KAFKA_LISTENER_SECURITY_PROTOCOL_MAP,
#   KAFKA_INTER_BROKER_LISTENER_NAME, KAFKA_CONTROLLER_QUORUM_VOTERS
# (docker-compose.yml: INTERNAL for the other containers, EXTERNAL for the host's 127.0.0.1).
set -eu
props=/etc/kafka/server.properties
data=/var/lib/kafka/data
cat > "$props" <<EOT
process.roles=broker,controller
node.id=1
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-1@${KAFKA_LISTEN_ADDRESS}:${KAFKA_CONTROLLER_PORT}}
listeners=${KAFKA_LISTENERS:-PLAINTEXT://${KAFKA_LISTEN_ADDRESS}:${KAFKA_PORT},CONTROLLER://${KAFKA_LISTEN_ADDRESS}:${KAFKA_CONTROLLER_PORT}}
advertised.listeners=${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://${KAFKA_ADVERTISED_HOST:-$KAFKA_LISTEN_ADDRESS}:${KAFKA_PORT}}
controller.listener.names=CONTROLLER
listener.security.protocol.map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:-CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT}
inter.broker.listener.name=${KAFKA_INTER_BROKER_LISTENER_NAME:-PLAINTEXT}
log.dirs=${data}
num.partitions=${KAFKA_NUM_PARTITIONS}
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOT
cat > /etc/kafka/log4j.properties <<EOT
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
EOT
cp="/opt/kafka/libs/*"
log4j="-Dlog4j.configuration=file:/etc/kafka/log4j.properties"
if [ ! -f "$data/meta.properties" ]; then
    id=${KAFKA_CLUSTER_ID:-$(java -cp "$cp" "$log4j" kafka.tools.StorageTool random-uuid)}
    java -cp "$cp" "$log4j" kafka.tools.StorageTool format -t "$id" -c "$props"
fi
# shellcheck disable=SC2086
exec java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    "$log4j" -cp "$cp" kafka.Kafka "$props"
