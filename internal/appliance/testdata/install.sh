# Runs as root inside the sandbox (a throw-away overlay of the machine's
# root, see sandbox in packages_test.go): installs the terminal and centre
# packages on a machine where /var/lib/sentinel already exists with
# another owner, and writes what the test checks into $T/out.
set -eu
T=${T:-/sentinel-test}
O=$T/out
# A data directory that is not the package's: it must stay as it is.
mkdir -p /var/lib/sentinel
chmod 0751 /var/lib/sentinel
echo kept >/var/lib/sentinel/marker
stat -c '%U %G %a' /var/lib/sentinel >$O/datadir.before

dpkg -i "$T"/new/sentinel-terminal_*_amd64.deb "$T"/new/sentinel-central_*_amd64.deb </dev/null >$O/dpkg-install.log 2>&1
stat -c '%U %G %a' /var/lib/sentinel >$O/datadir.after
cat /var/lib/sentinel/marker >$O/marker
stat -c '%U %G %a' /var/lib/sentinel-central >$O/centraldir
stat -c '%U %G %a' /etc/sentinel-central/serve.env >$O/serveenv
id sentinel >$O/id-sentinel
id sentinel-kiosk >$O/id-kiosk
id sentinel-central >$O/id-central
ls /etc/systemd/system/multi-user.target.wants/ >$O/wants 2>/dev/null || true
dpkg-query -W -f='${Version}\n' sentinel-terminal >$O/dpkg-version
for b in sentineld sentinelctl sentinel-central; do "$b" --version; done >$O/versions
# selftest on a machine without the terminal's hardware, with the
# package's example configuration: exit 1, each device said missing.
set +e
sentinelctl selftest --json --timeout 2s </dev/null >$O/selftest.json 2>$O/selftest.err
echo $? >$O/selftest.code
# The installed units, as installed (verify reads them from /lib).
units="/lib/systemd/system/sentineld.service /lib/systemd/system/sentinel-central.service"
if [ -x /usr/bin/cage ]; then units="$units /lib/systemd/system/sentinel-kiosk.service"; fi
echo "$units" >$O/verified-units
systemd-analyze verify $units >$O/verify.out 2>&1
echo $? >$O/verify.code
set -e
# Removal keeps the data; purge asks nothing and keeps it too.
dpkg --purge sentinel-terminal sentinel-central </dev/null >$O/dpkg-purge.log 2>&1
ls -A /var/lib/sentinel >$O/after-purge
test -e /etc/sentinel/sentinel.toml && echo yes >$O/conffile-after-purge || echo no >$O/conffile-after-purge
test -d /var/lib/sentinel-central && echo yes >$O/central-after-purge || echo no >$O/central-after-purge
echo done >$O/done
