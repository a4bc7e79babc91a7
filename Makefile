# Ferry: the two commands of the README, and a few helpers.
#   make demo   install deps, build, start mosquitto + Kafka, route sample uplinks, stop
#   make test   install deps, build with ASan+UBSan and -Werror, run the whole test suite
#   make compose-test  (on demand, minutes) docker-compose.yml end to end with a private dockerd
BUILD      ?= build
TEST_BUILD ?= build-test
SANITIZE   ?= address,undefined
JOBS       ?= $(shell nproc)

.PHONY: all deps build demo test tsan minimal unit-release valgrind-smoke soak compose-test deb \
	bench bench-webhook \
	bench-sinks clean

all: build

deps:
	@bash scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(BUILD)

demo: build
	FERRY_BUILD_DIR=$(CURDIR)/$(BUILD) bash scripts/demo.sh

test: deps
	cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	    -DFERRY_SANITIZE=$(SANITIZE) -DFERRY_WERROR=ON >/dev/null
	ninja -C $(TEST_BUILD)
	cd $(TEST_BUILD) && ctest --output-on-failure --timeout 1200 -LE 'slow|soak' -j 1

# ThreadSanitizer on the threaded core (journal group commit, delivery workers, pipeline).
# librdkafka and SpiderMonkey are not instrumented, so their tests stay in the ASan run.
tsan: deps
	cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DFERRY_SANITIZE=thread -DFERRY_WERROR=ON >/dev/null
	ninja -C build-tsan test_journal test_pipeline test_deliver
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R 'unit\.(journal|pipeline|deliver)$$'

# A build with plugins left out (no librdkafka, SpiderMonkey or Paho linked): it builds, its
# unit tests pass and the binary does not link the left-out libraries.
minimal: deps
	cmake -S . -B build-minimal -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFERRY_WERROR=ON \
	    -DFERRY_SINK_KAFKA=OFF -DFERRY_CODEC_JAVASCRIPT=OFF -DFERRY_SOURCE_MQTT=OFF \
	    -DFERRY_SINK_MQTT=OFF >/dev/null
	ninja -C build-minimal
	! ldd build-minimal/ferry | grep -E 'rdkafka|mozjs|paho|mosquitto'
	cd build-minimal && ctest --output-on-failure -L unit -j $(JOBS)

# The unit tests again in an optimised build (RelWithDebInfo, no sanitizers, -Werror): GCC -O2
# sees what -O0 does not (an aliasing bug in the SSRF guard showed only here). Its tree is the
# one valgrind-smoke and soak use.
unit-release: deps
	cmake -S . -B build-valgrind -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_WERROR=ON >/dev/null
	ninja -C build-valgrind
	cd build-valgrind && ctest --output-on-failure -L unit -j 1

# Battery row S3: the daemon under valgrind memcheck routes 1,000 uplinks MQTT -> Kafka
# (FERRY_VALGRIND_N for more); 0 errors and 0 bytes definitely lost (scripts/valgrind-smoke).
valgrind-smoke: deps
	bash scripts/valgrind-smoke

# Battery row S5 at CI size (tests/integration/50-soak.c: 120 s of load with Kafka freezes;
# RSS growth < 5% after warm-up, fds flat, 0 lost) in a build without sanitizers.
# FERRY_SOAK_S=1800 and friends for the full row (docs/testing.md).
soak: deps
	cmake -S . -B build-valgrind -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_WERROR=ON >/dev/null
	ninja -C build-valgrind ferry bench_loadgen it_50-soak
	cd build-valgrind && ctest --output-on-failure -R 'services\.(up|down)|soak' -j 1

# docker-compose.yml for real: its own dockerd, a debootstrapped debian:12, the three images,
# uplinks through mosquitto into Kafka, restart + SIGKILL mid-stream (0 lost), SIGTERM exit 0,
# three replicas on a shared subscription, the .deb in debian:12 (scripts/compose-test,
# docs/testing.md). Not part of `make test` (.ci/run runs it): ~3 minutes warm.
compose-test:
	bash scripts/compose-test

# The Debian package (CPack): build-deb/ferry_<version>_<arch>.deb (docs/docker.md).
deb: deps
	bash scripts/deb

bench: deps
	cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C build-release
	bash bench/e2e.sh build-release
	bash bench/webhook.sh build-release

# Webhook sink alone: msg/s to a local HTTPS endpoint, batching off/on, 1/8 requests in flight.
bench-webhook: deps
	cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C build-release bench_webhook bench_https_sink
	bash bench/webhook.sh build-release

# The three HTTP sinks side by side (webhook, sqs, kinesis) against a local HTTPS receiver and
# moto, with bare libcurl baselines; about 6 minutes (bench/sinks.sh, docs/benchmarks.md).
bench-sinks: deps
	cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	ninja -C build-release bench_sinks bench_https_sink
	bash bench/sinks.sh build-release

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-release build-tsan build-minimal build-valgrind
