# Ferry container image, two stages on Debian 12 (the same packages as scripts/deps.sh):
# "build" compiles with the -dev packages, the final stage has only the runtime libraries,
# runs as the unprivileged user ferry (uid 10001), keeps its journal on the volume
# /var/lib/ferry and answers its health check on the admin endpoint (/healthz).
# Build: docker build --network host -t ferry:dev .   (docs/docker.md; base image without
# Docker Hub: packaging/docker/base-image.sh)
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config g++ libpaho-mqtt-dev librdkafka-dev \
      libcjson-dev libyaml-dev libssl-dev libcurl4-openssl-dev libcunit1-dev libmozjs-102-dev \
      zlib1g-dev libmicrohttpd-dev libmosquitto-dev \
    && rm -rf /var/lib/apt/lists/*
# .dockerignore lets through only what the build needs, so edits to docs or scripts keep
# the compile layer cached.
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BENCH=OFF \
    && ninja -C /build ferry \
    && strip /build/ferry \
    && FERRY_MQTT_URL=tcp://127.0.0.1:1883 FERRY_KAFKA_BROKERS=127.0.0.1:9092 \
       FERRY_ADMIN_LISTEN=127.0.0.1:8081 /build/ferry check -c /src/examples/compose.yaml

FROM debian:12
ARG FERRY_VERSION=0.1.0
ARG FERRY_REVISION=unknown
ARG FERRY_SOURCE=unknown
LABEL org.opencontainers.image.title="ferry" \
      org.opencontainers.image.description="MQTT bridge and message router for IoT data (LoRaWAN uplinks to Kafka and webhooks)" \
      org.opencontainers.image.version="${FERRY_VERSION}" \
      org.opencontainers.image.revision="${FERRY_REVISION}" \
      org.opencontainers.image.source="${FERRY_SOURCE}" \
      org.opencontainers.image.base.name="debian:12"
# Runtime libraries only (ldd of the binary); curl for the health check (libcurl4 is needed
# anyway, so the command-line tool adds a few hundred kB).
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpaho-mqtt1.3 librdkafka1 libcjson1 libyaml-0-2 libssl3 libcurl4 libmozjs-102-0 \
      zlib1g libmicrohttpd12 libmosquitto1 ca-certificates curl \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 ferry \
    && useradd --system --uid 10001 --gid ferry --home-dir /var/lib/ferry --shell /usr/sbin/nologin ferry \
    && mkdir -p /var/lib/ferry /etc/ferry \
    && chown ferry:ferry /var/lib/ferry
COPY --from=build /build/ferry /usr/local/bin/ferry
COPY examples/compose.yaml /etc/ferry/ferry.yaml
# The defaults of /etc/ferry/ferry.yaml (examples/compose.yaml); compose sets them per stack.
ENV FERRY_MQTT_URL=tcp://127.0.0.1:1883 \
    FERRY_KAFKA_BROKERS=127.0.0.1:9092 \
    FERRY_ADMIN_LISTEN=127.0.0.1:8081
# The journal (and dead letters) must outlive the container: a named volume in compose.
VOLUME /var/lib/ferry
USER ferry:ferry
WORKDIR /var/lib/ferry
# SIGTERM (docker stop, compose stop) stops the sources, lets the sinks deliver what is in
# flight for up to 10 s, records each sink's cursor and exits 0: give it a stop grace period
# above that (compose: stop_grace_period: 30s; docker stop -t 30).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS --max-time 2 "http://${FERRY_ADMIN_LISTEN}/healthz" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["run", "-c", "/etc/ferry/ferry.yaml"]
