#include <stdio.h>
int main(void) { fprintf(stderr, "learnvault: no command\n"); return 2; }
