# Ferry container image: build and run on Debian 12 with the same packages as scripts/deps.sh.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config g++ libpaho-mqtt-dev librdkafka-dev \
      libcjson-dev libyaml-dev libssl-dev libcurl4-openssl-dev libcunit1-dev libmozjs-102-dev \
      zlib1g-dev libmicrohttpd-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BENCH=OFF \
    && ninja -C /build ferry

FROM debian:12
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpaho-mqtt1.3 librdkafka1 libcjson1 libyaml-0-2 libssl3 libcurl4 libmozjs-102-0 \
      zlib1g libmicrohttpd12 \
      ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/ferry /usr/local/bin/ferry
VOLUME /var/lib/ferry
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["run", "-c", "/etc/ferry/ferry.yaml"]
