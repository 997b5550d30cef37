#include "base/log.h"
#include "runner/cli.h"

#include <locale.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setlocale(LC_CTYPE, "");
    lab_log_init();
    int code = lab_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
#ifndef __SANITIZE_ADDRESS__
    /* libtorch's static destructors take about a second and do nothing lab
     * needs: every file is already closed and renamed. (Under ASan the
     * normal exit runs, so LeakSanitizer still checks.) */
    _exit(code);
#endif
    return code;
}
