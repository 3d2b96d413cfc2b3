# Runs as root inside the sandbox (see sandbox in packages_test.go): the
# previous build is installed and its terminal enrolled with a centre on
# this machine's loopback; the journal holds passages of the old record
# version; the installer edited the configuration. Then the new build is
# installed over it, and purged. What the test checks goes to $T/out.
set -eu
T=${T:-/sentinel-test}
O=$T/out
C=/root/centre
CENTRAL_DATA=/var/lib/sentinel-central

dpkg -i "$T"/old/sentinel-terminal_*_amd64.deb "$T"/old/sentinel-central_*_amd64.deb </dev/null >$O/dpkg-old.log 2>&1
sentinelctl --version >$O/version-old

# A centre (the previous build), its keys and bundles, as docs/central.md.
mkdir -p $C && cd $C
sentinel-central trust root-keygen --out keys/root >/dev/null
sentinel-central trust signer-keygen --out keys --name signer >/dev/null
sentinel-central trust delegate --root keys/root/root.key --pub keys/signer.pub \
	--kinds trust,status-base,status-delta,policy,config --valid 90d --out keys/signer.delegation >/dev/null
sentinel-central trust keygen --issuer ZJ --out keys/issuers >/dev/null
sentinel-central trust hpke-keygen --out keys >/dev/null
sentinel-central trust pseudonym-keygen --out keys/pseudonym.key >/dev/null
sign="--key keys/signer.key --delegation keys/signer.delegation --root-pub keys/root/root.pub"
sentinel-central trust build --version 1 --native keys/issuers/ZJ.pub --hpke-pub keys/centre.hpke.pub \
	--pseudonym-key keys/pseudonym.key $sign --out trust.bundle >/dev/null
sentinel-central bundles publish trust trust.bundle --data $CENTRAL_DATA $sign >/dev/null
sentinel-central config example --site-type supermarket --out site.toml >/dev/null
sentinel-central bundles publish config site.toml --data $CENTRAL_DATA $sign >/dev/null
sentinel-central policy example --site-type supermarket --out site.policy >/dev/null
sentinel-central bundles publish policy site.policy --data $CENTRAL_DATA --site-type supermarket $sign >/dev/null
sentinel-central serve --data $CENTRAL_DATA --root-pub keys/root/root.pub $sign \
	--hpke-key keys/centre.hpke.key --hosts 127.0.0.1 \
	--listen 127.0.0.1:$DEVICE_PORT --enrol-listen 127.0.0.1:$ENROL_PORT >$O/central.log 2>&1 &
central=$!
i=0
until grep -q '^listening enrol' $O/central.log; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "the centre did not start" >&2; kill $central; exit 1; }
	sleep 0.1
done
sentinel-central devices add --data $CENTRAL_DATA --site SM-0042 >ticket.txt
TICKET=$(grep -o 'SE1/[^ ]*' ticket.txt | head -n 1)
sentinelctl enrol --token "$TICKET" --data-dir /var/lib/sentinel >$O/enrol.out 2>&1
kill $central; wait $central || true

# Passages of the old record version (sync/journal/testdata/v1-journal),
# none acknowledged yet.
install -o sentinel -g sentinel -m 0600 $T/journal.db /var/lib/sentinel/journal.db

# The installer's configuration: listeners on free ports, the centre on
# loopback, one lane whose camera replays a code from files (this machine
# has no camera).
cat >/etc/sentinel/sentinel.toml <<TOML
data_dir = "/var/lib/sentinel"
[terminal]
id = "SM-0042-T1"
site_id = "SM-0042"
[central]
url = "https://127.0.0.1:$DEVICE_PORT"
[listen]
display = "127.0.0.1:$DISPLAY_PORT"
management = "127.0.0.1:$MGMT_PORT"
[[lane]]
name = "in-1"
[lane.camera]
source = "replay"
dir = "$T/frames"
TOML
cp /etc/sentinel/sentinel.toml $O/config.edited

# run_daemon NAME: starts sentineld as the unit does (user sentinel, the
# configuration in /etc), asks it with sentinelctl status, stops it.
run_daemon() {
	runuser -u sentinel -- sentineld --config /etc/sentinel/sentinel.toml >$O/sentineld-$1.log 2>&1 &
	pid=$!
	i=0
	until sentinelctl status --json >$O/status-$1.json 2>/dev/null || grep -q '"state": {' $O/status-$1.json; do
		i=$((i + 1)); [ $i -lt 300 ] || break
		sleep 0.1
	done
	kill -TERM $pid; wait $pid || true
}
snapshot() {
	${CTL:-sentinelctl} journal verify --json --data-dir /var/lib/sentinel >$O/journal-$1.json
	(cd /var/lib/sentinel && find device trust bundles -type f | sort | xargs sha256sum) >$O/files-$1.sum
	stat -c '%U %G %a' /var/lib/sentinel >$O/datadir-$1
}
run_daemon old
snapshot old

dpkg -i "$T"/new/sentinel-terminal_*_amd64.deb "$T"/new/sentinel-central_*_amd64.deb </dev/null >$O/dpkg-new.log 2>&1
sentinelctl --version >$O/version-new
cp /etc/sentinel/sentinel.toml $O/config.upgraded
snapshot new
run_daemon new

# Purge, and read the journal that stays with the binary it left.
cp /usr/bin/sentinelctl /root/sentinelctl
dpkg --purge sentinel-terminal sentinel-central </dev/null >$O/dpkg-purge.log 2>&1
CTL=/root/sentinelctl snapshot purged
ls -A $CENTRAL_DATA >$O/central-after-purge
echo done >$O/done
