#!/usr/bin/env python3
"""hostify.py - reads a resolved compose file (`compose -f docker-compose.yml -f
tests/compose/host.yml config`) on stdin and writes it without the published ports of the
services that run on the host's network: docker-compose 1.29 refuses `ports` together with
`network_mode: host` ("incompatible with port_bindings"), and an override cannot remove a key
there (Compose v2's `!reset` does not parse in 1.29)."""
import sys

import yaml

doc = yaml.safe_load(sys.stdin)
for svc in (doc.get("services") or {}).values():
    if svc.get("network_mode") == "host":
        svc.pop("ports", None)
        svc.pop("networks", None)
yaml.safe_dump(doc, sys.stdout, default_flow_style=False, sort_keys=False)
