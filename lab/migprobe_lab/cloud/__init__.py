"""The lab cloud: a Keystone v3 + Nova REST subset on 127.0.0.1 whose live migrations
are carried out on the lab guests. Shapes follow the OpenStack API reference (checked by
lab/tests/test_cloud_contract.py against the project's fixtures in tests/fixtures/openstack,
and against the published API samples when MIGPROBE_API_SAMPLES names them); faults can be
injected (faults.py)."""
