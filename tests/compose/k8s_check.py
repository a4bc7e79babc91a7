#!/usr/bin/env python3
"""k8s_check.py - packaging/kubernetes/ferry.yaml parses as YAML and has what docs/kubernetes.md
promises: a StatefulSet with a journal volume claim per replica, ConfigMap, Secret, /healthz
probes, Prometheus annotations, and a config that `ferry check` accepts (when a ferry binary
is given: k8s_check.py [path/to/ferry])."""
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
docs = list(yaml.safe_load_all(open(os.path.join(HERE, "..", "..", "packaging", "kubernetes", "ferry.yaml"))))
kinds = {d["kind"]: d for d in docs}
for k in ("ConfigMap", "Secret", "Service", "StatefulSet"):
    assert k in kinds, "missing " + k
    assert kinds[k]["apiVersion"] and kinds[k]["metadata"]["name"]
ss = kinds["StatefulSet"]["spec"]
assert ss["replicas"] == 3
assert ss["selector"]["matchLabels"].items() <= ss["template"]["metadata"]["labels"].items()
assert ss["volumeClaimTemplates"][0]["metadata"]["name"] == "journal"
c = ss["template"]["spec"]["containers"][0]
assert c["readinessProbe"]["httpGet"]["path"] == "/healthz"
assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
assert {m["name"] for m in c["volumeMounts"]} == {"config", "secrets", "journal"}
assert ss["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"
cfg = kinds["ConfigMap"]["data"]["ferry.yaml"]
assert "$share/ferry/" in cfg
if len(sys.argv) > 1:
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "ferry.yaml"), "w").write(cfg.replace("/run/secrets/ferry/mqtt-password", d + "/pw"))
        open(os.path.join(d, "pw"), "w").write("x\n")
        os.chmod(os.path.join(d, "pw"), 0o600)
        env = dict(os.environ, FERRY_CLIENT_ID="ferry-0", FERRY_MQTT_URL="tcp://127.0.0.1:1883",
                   FERRY_KAFKA_BROKERS="127.0.0.1:9092", FERRY_MQTT_USERNAME="ferry")
        subprocess.run([sys.argv[1], "check", "-c", os.path.join(d, "ferry.yaml")], env=env, check=True)
print("k8s_check: packaging/kubernetes/ferry.yaml: %d objects OK" % len(docs))
