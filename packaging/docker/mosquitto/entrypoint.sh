#!/bin/sh
# Writes mosquitto's configuration from the environment, then becomes mosquitto (PID 1 of the
# container, so SIGTERM from docker stop reaches it and it saves its persistence file).
set -eu
conf=/run/mosquitto/mosquitto.conf
cat > "$conf" <<EOT
listener ${MQTT_PORT} ${MQTT_LISTEN_ADDRESS}
allow_anonymous ${MQTT_ALLOW_ANONYMOUS:-true}
persistence true
persistence_location /var/lib/mosquitto/
autosave_interval ${MQTT_AUTOSAVE_INTERVAL:-10}
max_queued_messages ${MQTT_MAX_QUEUED_MESSAGES:-100000}
log_dest stdout
log_type error
log_type warning
log_type notice
log_timestamp_format %Y-%m-%dT%H:%M:%S
EOT
exec mosquitto -c "$conf"
