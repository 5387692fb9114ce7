/* cmd/faradd/main.c - placeholder until the daemon is wired (see proxy/). */
#include <stdio.h>
int main(void)
{
    puts("faradd " FARAD_VERSION);
    return 0;
}
