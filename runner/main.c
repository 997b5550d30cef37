#include "runner/cli.h"
#include "runner/log.h"

#include <locale.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    setlocale(LC_CTYPE, "");
    lab_log_init();
    int code = lab_main(argc, argv);
    fflush(stdout);
    return code;
}
