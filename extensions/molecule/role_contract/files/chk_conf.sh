#!/bin/sh
# vrrp_script shipped by the role (keepalived_ha_vrrp_scripts src): up while the config is there.
test -s /etc/pykeepalived/keepalived.conf
