"""Fault plan of the lab cloud: make chosen calls fail, hang or drop, make migrations
end in error, make tokens expire early. Set from a JSON file at start or at run time
through the admin endpoint PUT /_lab/faults (a non-OpenStack path).

Plan (every key optional):
{
  "token_ttl_s": 30,                    # tokens issued from now on expire after 30 s
  "rules": [                            # matched in order against each API call
    {"method": "GET", "path": "/compute/v2.1/servers/detail",  # path: regex, full match
     "nth": 2,                          # only the 2nd matching call (1-based) ...
     "times": 1,                        # ... and the next times-1 ones (default 1)
     "action": "status", "status": 500, # answer with this status in the API's error shape
     "message": "injected"},
    {"path": ".*/action", "nth": 1, "action": "hang", "seconds": 30},  # no answer, then close
    {"path": ".*", "nth": 3, "action": "drop"}                        # close at once
  ],
  "migrations": [                       # make live migrations fail
    {"server": "vm1", "nth": 1,         # server name or id, or "*"; nth migration of it
     "mode": "error"}                   # "error": rejected by a pre-check (migration
  ],                                    # status "error", guest untouched); "dest-crash":
                                        # the destination QEMU is killed mid-way
  "quota": {"instances": 2,             # the project's limits for server create (403
            "cores": 8, "ram": 4096},   # "Quota exceeded for ..."); instances is at most 60
  "boots": [                            # make server boots fail
    {"server": "mp-*", "nth": 2,        # a server name (shell pattern) or "*"; the nth boot
     "mode": "error"}                   # that matches; "error": the server goes to ERROR
  ]                                     # after its guest started; "no-valid-host": the
}                                       # scheduler finds no host (ERROR, never placed)
"""

import fnmatch

import re
import threading


class FaultPlanError(ValueError):
    pass


_ACTIONS = ("status", "hang", "drop")


def validate(plan):
    if not isinstance(plan, dict):
        raise FaultPlanError("a fault plan is a JSON object")
    unknown = set(plan) - {"token_ttl_s", "rules", "migrations", "quota", "boots"}
    if unknown:
        raise FaultPlanError(f"unknown keys in fault plan: {sorted(unknown)}")
    for i, r in enumerate(plan.get("rules", [])):
        if r.get("action", "status") not in _ACTIONS:
            raise FaultPlanError(f"rules[{i}].action must be one of {_ACTIONS}")
        if "path" not in r:
            raise FaultPlanError(f"rules[{i}] needs a path (regex)")
        try:
            re.compile(r["path"])
        except re.error as e:
            raise FaultPlanError(f"rules[{i}].path: {e}")
        if int(r.get("nth", 1)) < 1:
            raise FaultPlanError(f"rules[{i}].nth counts from 1")
    for i, m in enumerate(plan.get("migrations", [])):
        if m.get("mode", "error") not in ("error", "dest-crash"):
            raise FaultPlanError(f"migrations[{i}].mode must be error or dest-crash")
    quota = plan.get("quota", {})
    if not isinstance(quota, dict) or set(quota) - {"instances", "cores", "ram"}:
        raise FaultPlanError("quota: an object of instances, cores and ram")
    for k, v in quota.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise FaultPlanError(f"quota.{k} must be a whole number >= 0")
    for i, b in enumerate(plan.get("boots", [])):
        if b.get("mode", "error") not in ("error", "no-valid-host"):
            raise FaultPlanError(f"boots[{i}].mode must be error or no-valid-host")
        if int(b.get("nth", 1)) < 1:
            raise FaultPlanError(f"boots[{i}].nth counts from 1")
    ttl = plan.get("token_ttl_s")
    if ttl is not None and (not isinstance(ttl, (int, float)) or ttl <= 0):
        raise FaultPlanError("token_ttl_s must be a positive number")
    return plan


class Faults:
    def __init__(self, plan=None):
        self._lock = threading.Lock()
        self.set(plan or {})

    def set(self, plan):
        validate(plan)
        with self._lock:
            self.plan = plan
            self._rule_hits = [0] * len(plan.get("rules", []))
            self._migration_hits = {}
            self._boot_hits = [0] * len(plan.get("boots", []))
            self.log = []

    def token_ttl_s(self, default):
        return self.plan.get("token_ttl_s", default)

    def match_call(self, method, path):
        """The rule that fires for this call (counting it), or None."""
        with self._lock:
            fired = None
            for i, r in enumerate(self.plan.get("rules", [])):
                if r.get("method", method).upper() != method:
                    continue
                if not re.fullmatch(r["path"], path):
                    continue
                self._rule_hits[i] += 1
                n, times = int(r.get("nth", 1)), int(r.get("times", 1))
                if fired is None and n <= self._rule_hits[i] < n + times:
                    fired = r
            if fired:
                self.log.append({"method": method, "path": path, "rule": fired})
            return fired

    def migration_fault(self, server_name, server_id):
        """The failure mode for this server's next migration, or None (counts it)."""
        with self._lock:
            key = server_id
            self._migration_hits[key] = self._migration_hits.get(key, 0) + 1
            count = self._migration_hits[key]
            for m in self.plan.get("migrations", []):
                if m.get("server", "*") in ("*", server_name, server_id) and \
                        int(m.get("nth", 1)) == count:
                    self.log.append({"migration": server_name, "fault": m})
                    return m.get("mode", "error")
            return None

    def quota(self):
        return dict(self.plan.get("quota", {}))

    def boot_fault(self, server_name):
        """The failure mode of this server's boot, or None (counts it)."""
        with self._lock:
            fired = None
            for i, b in enumerate(self.plan.get("boots", [])):
                if not fnmatch.fnmatchcase(server_name, b.get("server", "*")):
                    continue
                self._boot_hits[i] += 1
                if fired is None and self._boot_hits[i] == int(b.get("nth", 1)):
                    fired = b
            if fired:
                self.log.append({"boot": server_name, "fault": fired})
                return fired.get("mode", "error")
            return None

    def snapshot(self):
        with self._lock:
            return {"plan": self.plan, "rule_hits": list(self._rule_hits), "fired": list(self.log)}
