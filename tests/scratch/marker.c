/* The command tests/scratch/run.sh has readygate exec inside the empty root: a static program
 * (no shell, no libc on disk) that proves it ran by writing a marker file and exiting with a
 * chosen code. Usage: marker FILE CODE [ARGS...]; FILE gets "uid=N gid=N args=ARGS...". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fputs("usage: marker FILE CODE [ARGS...]\n", stderr);
        return 64;
    }
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 73;
    }
    fprintf(f, "uid=%d gid=%d args=", (int)getuid(), (int)getgid());
    for (int i = 3; i < argc; i++)
        fprintf(f, "%s%s", i > 3 ? " " : "", argv[i]);
    fputc('\n', f);
    if (fclose(f) != 0) {
        perror(argv[1]);
        return 73;
    }
    return atoi(argv[2]);
}
