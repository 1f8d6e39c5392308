/* lk: take an fcntl (POSIX) or flock (BSD) lock on a file in the guest, hold it, release it.
 *
 *   lk fcntl|flock FILE r|w wait|nowait HOLD_MS [START LEN]
 *
 * Prints "locked" once the lock is held and "unlocked" after HOLD_MS; exits 0, or with the errno
 * of the failed lock call (EAGAIN/EWOULDBLOCK 11 when a non-blocking lock is refused, 37 ENOLCK
 * when the kernel cannot lock at all). Static, so it runs in the busybox initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: lk fcntl|flock FILE r|w wait|nowait HOLD_MS [START LEN]\n");
        return 2;
    }
    int posix = strcmp(argv[1], "fcntl") == 0;
    int write = strcmp(argv[3], "w") == 0;
    int wait = strcmp(argv[4], "wait") == 0;
    long hold = atol(argv[5]);
    int fd = open(argv[2], write ? O_RDWR | O_CREAT : O_RDONLY, 0644);
    if (fd < 0) {
        fprintf(stderr, "lk: open %s: %s\n", argv[2], strerror(errno));
        return errno;
    }
    int rc;
    if (posix) {
        struct flock fl;
        memset(&fl, 0, sizeof fl);
        fl.l_type = write ? F_WRLCK : F_RDLCK;
        fl.l_whence = SEEK_SET;
        fl.l_start = argc > 6 ? atol(argv[6]) : 0;
        fl.l_len = argc > 7 ? atol(argv[7]) : 0;
        rc = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
    } else {
        rc = flock(fd, (write ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
    }
    if (rc != 0) {
        int e = errno;
        printf("refused %d %s\n", e, strerror(e));
        fflush(stdout);
        return e;
    }
    printf("locked\n");
    fflush(stdout);
    sleep_ms(hold);
    printf("unlocked\n");
    fflush(stdout);
    close(fd);
    return 0;
}
