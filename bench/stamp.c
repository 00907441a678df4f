/* stamp: the gated command of the latency benchmarks; writes CLOCK_MONOTONIC (ns) at entry to argv[1], then exits. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    struct timespec ts;
    /* Read the clock first: everything after this line is not part of "the command started". */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (argc != 2) {
        static const char msg[] = "usage: stamp FILE\n";
        (void)!write(2, msg, sizeof msg - 1);
        return 2;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)n) != n) {
        perror("stamp");
        return 1;
    }
    close(fd);
    return 0;
}
