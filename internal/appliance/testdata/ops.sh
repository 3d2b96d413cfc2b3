# Runs as root inside the sandbox (see sandbox in packages_test.go): the
# steps of docs/ops.md with a repository on this machine (file: instead of
# HTTPS). The previous release is in stable, the new one in pilot; a pilot
# terminal installs the new one, is rolled back to stable's, and upgrades
# again once the release is promoted. What the test checks goes to $T/out.
set -eu
T=${T:-/sentinel-test}
O=$T/out
R=/srv/apt
export GNUPGHOME=/root/gnupg
mkdir -m 0700 -p $GNUPGHOME

# 2. The repository, one suite per ring, signed.
gpg --batch --passphrase '' --quick-generate-key "Sentinel packages <ops@example.org>" ed25519 sign never >$O/gpg.log 2>&1
mkdir -p $R/conf
for suite in pilot early stable; do
	cat >>$R/conf/distributions <<CONF
Codename: $suite
Suite: $suite
Architectures: amd64 arm64 armhf
Components: main
SignWith: ops@example.org

CONF
done
gpg --export ops@example.org >$R/sentinel.gpg
reprepro -b $R includedeb stable "$T"/old/*.deb >$O/reprepro.log 2>&1
reprepro -b $R includedeb pilot "$T"/new/*.deb >>$O/reprepro.log 2>&1
reprepro -b $R list pilot >$O/list-pilot
reprepro -b $R list stable >$O/list-stable

# 3. A terminal of a pilot site. Only this source: the machine's own are
# left out so that nothing is fetched from elsewhere.
cp $R/sentinel.gpg /usr/share/keyrings/sentinel.gpg
mkdir -p /root/apt-sources
cat >/root/apt-sources/sentinel.sources <<SOURCES
Types: deb
URIs: file:$R/
Suites: pilot stable
Components: main
Signed-By: /usr/share/keyrings/sentinel.gpg
SOURCES
apt() { apt-get -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts=/root/apt-sources -o APT::Sandbox::User=root "$@"; }
apt update >$O/apt-update.log 2>&1
apt install -y sentinel-terminal </dev/null >$O/apt-install.log 2>&1
dpkg-query -W -f='${Version}' sentinel-terminal >$O/v-installed
echo "the terminal's data" >/var/lib/sentinel/marker

# 5. Roll this terminal back to the release in stable.
apt install -y --allow-downgrades sentinel-terminal/stable </dev/null >$O/apt-rollback.log 2>&1
dpkg-query -W -f='${Version}' sentinel-terminal >$O/v-rolledback
cat /var/lib/sentinel/marker >$O/marker

# 4. The release is promoted to stable; the terminal upgrades.
reprepro -b $R copy stable pilot sentinel-terminal >>$O/reprepro.log 2>&1
apt update >>$O/apt-update.log 2>&1
apt upgrade -y </dev/null >$O/apt-upgrade.log 2>&1
dpkg-query -W -f='${Version}' sentinel-terminal >$O/v-promoted
echo done >$O/done
