/* cmd/farad/farad.h - the subcommands of farad, one file each. */
#ifndef CMD_FARAD_H
#define CMD_FARAD_H
/** `farad test ...`: argv[0] is "test". Returns the exit status. */
int farad_test_main(int argc, char **argv);
#endif
