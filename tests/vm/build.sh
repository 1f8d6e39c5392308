#!/usr/bin/env bash
# Build the guest for the kernel-client test: a Debian cloud kernel and its NFS modules, busybox,
# Debian's rpcbind, rpc.statd, rpcinfo and sqlite3 with the libraries they load, a static lock
# helper, /init and the scenario, packed as an initramfs. Nothing is installed on the host: the
# Debian packages are downloaded (apt-get download) and unpacked under target/vm/.
#
#   tests/vm/build.sh OUT_DIR      -> OUT_DIR/vmlinuz, OUT_DIR/initramfs.cpio.gz
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
die() { echo "tests/vm/build.sh: $*" >&2; exit 1; }
for tool in busybox gcc apt-get dpkg-deb; do
    command -v $tool >/dev/null || die "$tool is missing (scripts/test.sh installs it)"
done
busybox --list | grep -qx setpriv || die "this busybox lacks applets the guest needs"
if command -v file >/dev/null && file -L "$(command -v busybox)" | grep -q dynamic; then die "busybox is not static (install busybox-static)"; fi

# The kernel: the newest cloud flavour Debian offers (virtio drivers as modules, small).
debs=$out/debs
mkdir -p "$debs"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || die "apt-cache knows no linux-image-cloud-amd64 (run apt-get update)"
pkgs="$kpkg rpcbind nfs-common libtirpc3 libtirpc-common libwrap0 sqlite3 libsqlite3-0 libreadline8"
stamp="$debs/.pkgs"
if [ "$(cat "$stamp" 2>/dev/null)" != "$pkgs" ]; then
    rm -f "$debs"/*.deb
    (cd "$debs" && apt-get download $pkgs >/dev/null 2>"$debs/download.log") ||
        die "apt-get download $pkgs failed: $(tail -3 "$debs/download.log")"
    echo "$pkgs" >"$stamp"
fi
x=$out/pkgs
rm -rf "$x" && mkdir -p "$x"
for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$x"; done
kver=$(ls "$x/lib/modules" | head -1)
cp "$x/boot/vmlinuz-$kver" "$out/vmlinuz"

root=$out/root
rm -rf "$root" && mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,mnt,modules,lib64,lib/x86_64-linux-gnu,var/lib/nfs}
cp "$(command -v busybox)" "$root/bin/busybox"

# Modules in load order (each needs the ones before it).
order="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net sunrpc grace lockd nfs_acl netfs fscache nfs nfsv3"
for m in $order; do
    f=$(find "$x/lib/modules/$kver" -name "$m.ko" | head -1)
    [ -n "$f" ] || die "module $m not found in $kpkg"
    cp "$f" "$root/modules/"
done
echo $order | tr ' ' '\n' >"$root/modules/order"

# Dynamic binaries and every library they load (unpacked ones first, then the host's).
libpath="$x/lib/x86_64-linux-gnu:$x/usr/lib/x86_64-linux-gnu"
for b in sbin/rpcbind sbin/rpc.statd usr/sbin/rpcinfo usr/bin/sqlite3; do
    [ -x "$x/$b" ] || die "$b is not in the downloaded packages"
    cp "$x/$b" "$root/$b"
    LD_LIBRARY_PATH=$libpath ldd "$x/$b" >"$out/ldd.txt" || die "ldd $b failed"
    if grep -q "not found" "$out/ldd.txt"; then die "$b needs: $(grep 'not found' "$out/ldd.txt" | tr '\n' ' ')"; fi
    awk '/=> \// {print $3} /^\t\/lib64/ {print $1}' "$out/ldd.txt" | while read -r lib; do
        case $lib in
        /lib64/*) cp -L "$lib" "$root/lib64/" ;;
        *) cp -L "$lib" "$root/lib/x86_64-linux-gnu/" ;;
        esac
    done
done
cp "$x/etc/netconfig" "$root/etc/netconfig" 2>/dev/null || die "no /etc/netconfig in libtirpc-common"

gcc -static -O2 -Wall -o "$root/bin/lk" "$here/lk.c"

cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
_rpc:x:100:65534::/run/rpcbind:/bin/false
statd:x:101:65534::/var/lib/nfs:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n10.0.2.15 guest\n' >"$root/etc/hosts"
printf 'portmapper 100000 portmap sunrpc rpcbind\nnfs 100003 nfsprog\nmountd 100005 mount\nnlockmgr 100021\nstatus 100024\n' >"$root/etc/rpc"
printf 'sunrpc 111/tcp portmapper\nsunrpc 111/udp portmapper\n' >"$root/etc/services"
printf 'tcp 6 TCP\nudp 17 UDP\n' >"$root/etc/protocols"
cp "$here/init" "$root/init"
cp "${GUEST_SCRIPT:-$here/guest.sh}" "$root/guest.sh"
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out/initramfs.cpio.gz"
echo "guest: kernel $kver, initramfs $(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB"
