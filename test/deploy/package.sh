#!/usr/bin/env bash
# Builds the Debian packages (what `make package` does) and inspects them: the files, the
# conffile, the maintainer scripts and the dependencies of each; lintian reports no error.
#   package.sh <build-dir>
set -euo pipefail
build=$1
cd "$build"
rm -f partita_*.deb partita-dev_*.deb
if ! cpack >cpack.log 2>&1; then
  cat cpack.log
  exit 1
fi
service=$(ls partita_*_amd64.deb)
dev=$(ls partita-dev_*_amd64.deb)
failed=0
fail() {
  echo "FAILED: $*"
  failed=1
}
has_files() {
  local deb=$1
  shift
  local contents
  contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
  for f in "$@"; do
    grep -qx "$f" <<<"$contents" || fail "$deb does not hold $f"
  done
}
echo "== $service"
dpkg-deb --info "$service"
has_files "$service" ./usr/bin/partita-clickcount ./usr/bin/partita-emit ./usr/bin/partita-cluster \
  ./lib/systemd/system/partita-clickcount.service ./etc/partita/clickcount.toml \
  ./usr/share/partita/deploy/clickcount.toml \
  ./usr/share/partita/deploy/prometheus/partita-alerts.yml \
  ./usr/share/doc/partita/copyright ./usr/share/doc/partita/changelog.gz
depends=$(dpkg-deb --field "$service" Depends)
for dep in adduser librdkafka1 liblmdb0 libcaf-core libspdlog libc6; do
  grep -q "$dep" <<<"$depends" || fail "$service: Depends names no $dep: $depends"
done
control=$(mktemp -d)
dpkg-deb --control "$service" "$control"
[[ "$(cat "$control/conffiles")" == "/etc/partita/clickcount.toml" ]] ||
  fail "$service: conffiles is '$(cat "$control/conffiles")'"
grep -q "adduser --system --group --home /var/lib/partita" "$control/postinst" ||
  fail "$service: postinst creates no partita user"
unit=$(dpkg-deb --fsys-tarfile "$service" | tar -xO ./lib/systemd/system/partita-clickcount.service)
grep -q "^ExecStart=/usr/bin/partita-clickcount --config /etc/partita/clickcount.toml" <<<"$unit" ||
  fail "$service: the unit does not start /usr/bin/partita-clickcount with /etc/partita"
grep -q "^User=partita" <<<"$unit" || fail "$service: the unit does not run as partita"
rm -rf "$control"

echo "== $dev"
dpkg-deb --info "$dev"
has_files "$dev" ./usr/include/partita/runtime/tester.hpp ./usr/include/partita/runtime/processor.hpp \
  ./usr/lib/cmake/partita/partitaConfig.cmake ./usr/lib/libpartita_tester.a \
  ./usr/lib/libpartita_actors.a ./usr/share/doc/partita-dev/copyright
depends=$(dpkg-deb --field "$dev" Depends)
for dep in "partita (= " libcaf-dev librdkafka-dev liblmdb-dev libspdlog-dev; do
  grep -qF "$dep" <<<"$depends" || fail "$dev: Depends names no $dep: $depends"
done

echo "== lintian"
lintian --tag-display-limit 0 "$service" "$dev" >lintian.txt 2>&1 || true
cat lintian.txt
if grep -q "^E:" lintian.txt; then
  fail "lintian reports errors"
fi
exit $failed
