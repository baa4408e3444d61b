"""The lab cloud: a Keystone v3 + Nova REST subset on 127.0.0.1 whose live migrations
are carried out on the lab guests. Shapes follow the OpenStack API samples in
../shared/reference/openstack-api-samples; faults can be injected (faults.py)."""
