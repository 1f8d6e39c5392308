# The scenario the Linux kernel's NFSv3 client runs against the simulator, inside the QEMU guest
# (busybox sh). Every check prints one line, `PASS name` or `FAIL name: why`; `FIGURE name value`
# lines carry measurements. Steps that need the simulator changed (a snapshot over ZAPI, an export
# rule, a volume offline) ask the runner on the host: `@@HOST <verb> <args>` on the console, and
# the runner answers `@@OK <text>` or `@@ERR <text>` on the serial line.
#
# Parameters come from the kernel command line: nfsport=N (the NFS/MOUNT port), datamb=N (the
# size of the data check), statdport=N (rpc.statd's port, forwarded from the host like lockd's
# and rpcbind's, so the simulator's GRANTED callbacks and restart notices reach the guest).

S=10.0.2.2
NFSPORT=$(sed -n 's/.*nfsport=\([0-9]*\).*/\1/p' /proc/cmdline)
DATAMB=$(sed -n 's/.*datamb=\([0-9]*\).*/\1/p' /proc/cmdline)
DATAMB=${DATAMB:-16}
STATDPORT=$(sed -n 's/.*statdport=\([0-9]*\).*/\1/p' /proc/cmdline)
OPTS="vers=3,proto=tcp"
EXPLICIT="vers=3,proto=tcp,port=$NFSPORT,mountport=$NFSPORT,mountproto=tcp"

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
# check NAME CMD...: the command's exit status decides; its output is shown on failure.
check() {
    name=$1
    shift
    if "$@" >/tmp/out 2>&1; then
        pass "$name"
    else
        fail "$name: $(tail -c 300 /tmp/out | tr '\n' ' ')"
    fi
}
# expect_fail NAME TEXT CMD...: the command must fail and say TEXT.
expect_fail() {
    name=$1
    text=$2
    shift 2
    if "$@" >/tmp/out 2>&1; then
        fail "$name: succeeded, expected \"$text\""
    elif grep -q "$text" /tmp/out; then
        pass "$name"
    else
        fail "$name: expected \"$text\", got: $(tail -c 300 /tmp/out | tr '\n' ' ')"
    fi
}
# host VERB ARGS...: ask the runner; the answer's text in $REPLY_TEXT; status 0 on @@OK.
host() {
    echo "@@HOST $*"
    read -r reply </dev/ttyS0
    case "$reply" in
    @@OK*) REPLY_TEXT=${reply#@@OK} ; return 0 ;;
    *) REPLY_TEXT=${reply#@@ERR} ; return 1 ;;
    esac
}
host_check() {
    name=$1
    shift
    if host "$@"; then pass "$name"; else fail "$name:$REPLY_TEXT"; fi
}
# Hundredths of a second since boot.
now() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

mkdir -p /mnt/a /mnt/b /mnt/c /mnt/s /mnt/q /mnt/n /mnt/l /var/lib/nfs/sm /var/lib/nfs/sm.bak /run/rpcbind /var/run

# --- The guest's own RPC services: lockd registers with rpcbind; statd monitors for lockd.
check "rpcbind starts" rpcbind -w
rpc.statd --no-notify -F -p "$STATDPORT" >/tmp/statd.log 2>&1 &
i=0
while ! rpcinfo -p 127.0.0.1 2>/dev/null | grep -q status && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "rpc.statd starts and registers" sh -c 'rpcinfo -p 127.0.0.1 | grep -q status || { rpcinfo -p 127.0.0.1; cat /tmp/statd.log; ps | grep -e rpc -e statd; false; }'
check "the server's portmapper answers rpcinfo -p (rpcbind v3/v4 over TCP, v2 over UDP)" rpcinfo -p $S
check "the server's rpcbind answers rpcinfo -s" rpcinfo -s $S

# --- Mounts: Trident's way (the portmapper finds NFS and MOUNT; locking on) and with ports given.
check "mount through the portmapper ($OPTS)" mount -t nfs -o $OPTS $S:/vol1 /mnt/a
check "mount with port= and mountport= ($EXPLICIT,nolock)" mount -t nfs -o $EXPLICIT,nolock $S:/vol1 /mnt/b
check "mount with mountproto=udp" mount -t nfs -o vers=3,proto=tcp,mountproto=udp,nolock $S:/vol1 /mnt/n
umount /mnt/n 2>/dev/null

# --- df: the volume's size and use, checked by the host against volume-get-iter.
set -- $(df -k /mnt/a | tail -1)
host_check "df shows the volume's size and use" df vol1 "$2" "$3"

# --- Data: write, sync, checksum against the server's copy and through the second mount.
t0=$(now)
check "dd ${DATAMB} MiB + sync" sh -c "dd if=/dev/urandom of=/tmp/big bs=1M count=$DATAMB 2>/dev/null && dd if=/tmp/big of=/mnt/a/big bs=1M 2>/dev/null && sync"
t1=$(now)
sum=$(sha256sum /tmp/big | cut -d' ' -f1)
rm -f /tmp/big
echo "FIGURE write_MiB_per_s $(awk "BEGIN { printf \"%.1f\", $DATAMB * 100 / ($t1 - $t0 + 1) }")"
host_check "the server holds the same bytes (sha256)" sha vol1 big "$sum"
echo 3 >/proc/sys/vm/drop_caches
t0=$(now)
got=$(sha256sum /mnt/b/big | cut -d' ' -f1)
t1=$(now)
echo "FIGURE read_MiB_per_s $(awk "BEGIN { printf \"%.1f\", $DATAMB * 100 / ($t1 - $t0 + 1) }")"
check "read back through the other mount: same sha256" [ "$got" = "$sum" ]
check "append" sh -c 'echo one >/mnt/a/log && echo two >>/mnt/a/log && [ "$(cat /mnt/b/log)" = "$(printf "one\ntwo")" ]'

# --- Namespace: a tree copied and compared, listings, renames, removal.
check "cp -a a tree" cp -a /etc /mnt/a/tree
check "the copy equals the source (diff -r)" diff -r /etc /mnt/a/tree
check "ls -la" sh -c 'ls -la /mnt/a/tree | grep -q passwd'
check "mkdir -p" mkdir -p /mnt/a/d1/d2/d3
check "rename a directory" sh -c 'mv /mnt/a/d1 /mnt/a/d9 && [ -d /mnt/a/d9/d2/d3 ] && [ ! -e /mnt/a/d1 ]'
check "rm -r" sh -c 'rm -r /mnt/a/d9 /mnt/a/tree && [ ! -e /mnt/a/tree ]'
expect_fail "rmdir of a non-empty directory" "not empty" sh -c 'mkdir -p /mnt/a/ne/x && rmdir /mnt/a/ne'
rm -rf /mnt/a/ne

# --- Attributes.
touch /mnt/a/f
check "chmod" sh -c 'chmod 4751 /mnt/a/f && [ "$(stat -c %a /mnt/a/f)" = 4751 ]'
check "chown as root (root is not squashed by the default rule)" sh -c 'chown 1234:5678 /mnt/a/f && [ "$(stat -c %u:%g /mnt/b/f)" = 1234:5678 ]'
check "root is squashed to 65534 where the rule says so" sh -c 'mount -t nfs -o $0,nolock 10.0.2.2:/squashed /mnt/q && touch /mnt/q/r && [ "$(stat -c %u /mnt/q/r)" = 65534 ]' "$OPTS"
umount /mnt/q 2>/dev/null
check "symlink" sh -c 'ln -s f /mnt/a/sl && [ "$(readlink /mnt/a/sl)" = f ]'
check "hard link" sh -c 'ln /mnt/a/f /mnt/a/hl && [ "$(stat -c %h /mnt/a/f)" = 2 ]'
check "truncate" sh -c 'echo 0123456789 >/mnt/a/t && truncate -s 4 /mnt/a/t && [ "$(cat /mnt/a/t)" = 0123 ]'
check "touch -d" sh -c 'touch -d "2020-01-02 03:04:05" /mnt/a/f && [ "$(stat -c %Y /mnt/a/f)" = "$(date -d "2020-01-02 03:04:05" +%s)" ]'
check "sparse file" sh -c 'dd if=/dev/zero of=/mnt/a/sparse bs=1 count=1 seek=100M 2>/dev/null && [ "$(stat -c %s /mnt/a/sparse)" = 104857601 ] && [ "$(stat -c %b /mnt/a/sparse)" -lt 1000 ]'
rm -f /mnt/a/sparse
check "mkfifo" sh -c 'mkfifo /mnt/a/fifo && [ -p /mnt/a/fifo ]'
check "mknod of a character device" sh -c 'mknod /mnt/a/null c 1 3 && [ -c /mnt/a/null ] && [ "$(stat -c %t:%T /mnt/a/null)" = 1:3 ]'
rm -f /mnt/a/fifo /mnt/a/null

# --- Full volume: ENOSPC, then room again.
mount -t nfs -o $OPTS,nolock $S:/small /mnt/s
expect_fail "fill the volume until ENOSPC" "No space left on device" sh -c 'dd if=/dev/zero of=/mnt/s/fill bs=1M count=64 && sync /mnt/s/fill'
check "free space and write again" sh -c 'rm -f /mnt/s/fill && dd if=/dev/zero of=/mnt/s/again bs=1M count=1 2>/dev/null && sync'
umount /mnt/s

# --- A user quota: the user's writes past it fail with EDQUOT; root is held by tree quotas only.
mkdir -p /mnt/a/uq && chown 65534:65534 /mnt/a/uq
host_check "a user quota of 256 KiB for nobody is in force" user-quota vol1 65534 256
check "the user writes within the quota" su -s /bin/sh nobody -c 'dd if=/dev/zero of=/mnt/a/uq/f1 bs=64k count=2 conv=fsync 2>/dev/null'
expect_fail "the user's write past the quota fails with EDQUOT" "quota exceeded" su -s /bin/sh nobody -c 'dd if=/dev/zero of=/mnt/a/uq/f2 bs=64k count=8 conv=fsync'
check "root grows the user's file past it" dd if=/dev/zero of=/mnt/a/uq/f1 bs=64k count=8 seek=2 conv=notrunc,fsync
host quota-off vol1 || fail "quota-off:$REPLY_TEXT"
rm -rf /mnt/a/uq

# --- Snapshots made over ZAPI from the host.
echo before >/mnt/a/snapfile
sync
ls /mnt/a/.snapshot >/dev/null 2>&1
host snapshot-create vol1 s1 || fail "snapshot-create:$REPLY_TEXT"
check ".snapshot lists a snapshot made after it was read" sh -c 'ls /mnt/a/.snapshot | grep -qx s1'
check "the snapshot holds the data of its moment" sh -c 'echo after >/mnt/a/snapfile && [ "$(cat /mnt/a/.snapshot/s1/snapfile)" = before ]'
expect_fail "a snapshot is read-only" "Read-only file system" sh -c 'echo x >/mnt/a/.snapshot/s1/new'
host snapshot-restore vol1 s1 || fail "snapshot-restore:$REPLY_TEXT"
umount /mnt/a
check "remount after a restore" mount -t nfs -o $OPTS $S:/vol1 /mnt/a
check "the restore is seen after the remount" [ "$(cat /mnt/a/snapfile)" = before ]
host snapshot-delete vol1 s1 || fail "snapshot-delete:$REPLY_TEXT"
check ".snapshot forgets a deleted snapshot" sh -c '! ls /mnt/a/.snapshot | grep -qx s1'

# --- Locks through NLM (mount /mnt/a has locking on).
check "fcntl write lock" lk fcntl /mnt/a/lockfile w nowait 0
: >/tmp/p1
lk fcntl /mnt/a/lockfile w wait 3000 0 100 >/tmp/p1 2>&1 &
p1=$!
i=0
while ! grep -q locked /tmp/p1 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
expect_fail "fcntl: a second process is refused while the first holds the lock" "refused 11" lk fcntl /mnt/a/lockfile w nowait 0 50 10
check "fcntl: a lock on another range is granted" lk fcntl /mnt/a/lockfile w nowait 0 100 10
# This one blocks until the first process lets go.
lk fcntl /mnt/a/lockfile w wait 0 0 100 >/tmp/p2 2>&1 &
p2=$!
wait $p1
t0=$(now)
wait $p2
t1=$(now)
check "fcntl: the waiting process gets the lock after the holder releases it" grep -q locked /tmp/p2
echo "FIGURE blocked_lock_granted_after_s $(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / 100 }")"
host_check "the lock table is empty after both released" locks 0
# Two mounts of one export without a shared cache are two sets of inodes: the kernel cannot
# settle their conflicts locally, so the server's lock table decides, and a blocked lock is
# granted by the server's GRANTED callback to the guest's lockd.
check "a second lock-enabled mount (nosharecache)" mount -t nfs -o $OPTS,nosharecache $S:/vol1 /mnt/c
: >/tmp/p5
lk fcntl /mnt/a/xfile w wait 3000 >/tmp/p5 2>&1 &
p5=$!
i=0
while ! grep -q locked /tmp/p5 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
expect_fail "fcntl across mounts: the server refuses a conflicting lock (NLM4_DENIED)" "refused 11" lk fcntl /mnt/c/xfile w nowait 0
lk fcntl /mnt/c/xfile w wait 0 >/tmp/p6 2>&1 &
p6=$!
wait $p5
t0=$(now)
wait $p6
t1=$(now)
check "fcntl across mounts: the blocked lock is granted when the holder lets go" grep -q locked /tmp/p6
echo "FIGURE server_blocked_lock_granted_after_s $(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) / 100 }")"
host_check "the server answered BLOCKED and called the guest's lockd back (NLM_GRANTED_CALLBACK)" journal "NLM_LOCK=blocked" "NLM_GRANTED_CALLBACK=granted"
# A restart of the simulator: it tells the guest's statd (SM_NOTIFY), the guest's lockd reclaims
# the lock it holds in the grace period, and the lock still keeps others out afterwards.
: >/tmp/p7
lk fcntl /mnt/a/rfile w wait 120000 >/tmp/p7 2>&1 &
p7=$!
i=0
while ! grep -q locked /tmp/p7 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
host restart || fail "restart:$REPLY_TEXT"
host_check "after a restart the guest's lockd reclaims its lock (SM_NOTIFY, grace period)" locks 1
expect_fail "after the grace period the reclaimed lock keeps another mount out" "refused 11" lk fcntl /mnt/c/rfile w nowait 0
kill $p7
wait $p7 2>/dev/null
host_check "the restart notice and the reclaim are in the journal" journal "SM_NOTIFY_SENT=answered" "NLM_LOCK=granted"
umount /mnt/c
: >/tmp/p3
lk flock /mnt/a/flockfile w wait 2000 >/tmp/p3 2>&1 &
p3=$!
i=0
while ! grep -q locked /tmp/p3 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
host_check "the lock is in the control API's table" locks 1
expect_fail "flock: a second process is refused" "refused 11" lk flock /mnt/a/flockfile w nowait 0
lk flock /mnt/a/flockfile w wait 0 >/tmp/p4 2>&1 &
p4=$!
wait $p3
wait $p4
check "flock: the waiting process gets the lock after the holder releases it" grep -q locked /tmp/p4
check "sqlite3: a write-heavy script on the mount (WAL off)" sh -c '
        cd /mnt/a && rm -f t.db && {
            echo "PRAGMA journal_mode=DELETE; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT);"
            i=0; while [ $i -lt 200 ]; do echo "INSERT INTO t(v) VALUES (hex(randomblob(64)));"; i=$((i + 1)); done
            echo "UPDATE t SET v = v || v; DELETE FROM t WHERE k % 3 = 0;"
        } | sqlite3 t.db && [ "$(sqlite3 t.db "SELECT count(*) FROM t;")" = 134 ] && sqlite3 t.db "PRAGMA integrity_check;" | grep -qx ok'
check "nolock: locks are local" sh -c 'lk fcntl /mnt/b/lockfile w nowait 0 && lk flock /mnt/b/flockfile w nowait 0'
check "local_lock=all: locks are local" sh -c "mount -t nfs -o $OPTS,local_lock=all $S:/vol1 /mnt/l && lk fcntl /mnt/l/lockfile w nowait 0 && umount /mnt/l"

# --- Export policy: a rule change that removes the guest refuses its next mount.
host rule-deny || fail "rule-deny:$REPLY_TEXT"
expect_fail "a mount after the rule change is refused" "denied" mount -t nfs -o $OPTS,nolock $S:/vol1 /mnt/l
host rule-allow || fail "rule-allow:$REPLY_TEXT"

# --- Unmount: every mount goes cleanly (an umount that hangs is a failure, not a stuck run).
check "unmount cleanly" sh -c 'timeout 60 umount /mnt/a && timeout 60 umount /mnt/b || { dmesg | tail -5; false; }'

# --- The volume goes offline: the client sees a stale handle or an I/O error.
mount -t nfs -o $OPTS,nolock $S:/vol1 /mnt/b
cat /mnt/b/log >/dev/null
host offline vol1 || fail "offline:$REPLY_TEXT"
if timeout 60 cat /mnt/b/log >/tmp/out 2>&1; then
    fail "an offline volume is refused: the read succeeded"
elif grep -q -e "Stale file handle" -e "Input/output error" /tmp/out; then
    pass "an offline volume is refused ($(tail -c 80 /tmp/out | tr '\n' ' '))"
else
    fail "an offline volume is refused: $(tail -c 200 /tmp/out | tr '\n' ' ')"
fi
host online vol1 || fail "online:$REPLY_TEXT"
check "unmount after the volume came back" sh -c 'timeout 60 umount /mnt/b || timeout 60 umount -f /mnt/b || { dmesg | tail -5; false; }'
