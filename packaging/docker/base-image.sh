#!/usr/bin/env bash
# base-image.sh - make the debian:12 base image without Docker Hub: debootstrap a minbase
# bookworm from Debian's mirror, trim it, and `docker import` it as debian:12. Machines that
# reach Docker Hub do not need this (`docker pull debian:12`). Run as root (debootstrap).
#
#   packaging/docker/base-image.sh [--force]
#
# Environment: DOCKER_HOST (which daemon), FERRY_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# FERRY_CACHE_DIR (default ~/.cache/ferry: the root filesystem tarball is kept there, so a second
# daemon or a wiped data root imports it again in seconds instead of running debootstrap).
set -euo pipefail

image=${FERRY_BASE_IMAGE:-debian:12}
mirror=${FERRY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${FERRY_CACHE_DIR:-$HOME/.cache/ferry}
tarball=$cache/debian-12-minbase.tar
force=${1:-}

log() { echo "base-image: $*" >&2; }

if [ "$force" != "--force" ] && docker image inspect "$image" >/dev/null 2>&1; then
    log "$image is already there"
    exit 0
fi

if [ "$force" = "--force" ] || [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { log "debootstrap is not installed"; exit 1; }
    root=$(mktemp -d /tmp/ferry-debootstrap.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    log "debootstrap --variant=minbase bookworm from $mirror (about 30 s)"
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$root.log" 2>&1 \
        || { tail -n 20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
    rm -f "$root.log"
    # The same suites as Docker Hub's debian:12, so images get security updates too.
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOT
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
    # What Docker Hub's image leaves out too: package lists and downloaded .debs.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/log/* "$root"/tmp/*
    # apt in containers, as in Docker Hub's debian images: no .debs or package caches kept,
    # no translations. Like debian:12-slim, dpkg leaves out manuals, docs (not copyrights)
    # and locales.
    cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
EOT
    cat > "$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOT'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOT
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian/*
    # openjdk's postinst registers its manual page with update-alternatives, which fails
    # when the directory is missing (the same trap as debian:12-slim)
    mkdir -p "$root/usr/share/man/man1"
    find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
    mkdir -p "$cache"
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
fi

log "importing $tarball as $image"
docker import --change 'CMD ["bash"]' "$tarball" "$image" >/dev/null
docker image ls "$image" >&2
