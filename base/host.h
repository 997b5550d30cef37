/* The machine seen as files, under an optional root prefix.
 *
 * Everything that inspects /proc, /sys, /dev or PATH goes through these, so
 * tests can put fixtures in place of the machine: the root is "" for the
 * real machine, or LAB_DOCTOR_ROOT (test-only) when set. The doctor's checks
 * and the container engines share them. */
#ifndef LAB_BASE_HOST_H
#define LAB_BASE_HOST_H

#include <stddef.h>

/* LAB_DOCTOR_ROOT without trailing slashes, or "" when unset. */
void lab_host_root(char *out, size_t cap);

/* "<root><abs>" in out; returns out. */
const char *lab_host_path(const char *root, const char *abs, char *out, size_t cap);
/* A small file under the root (at most 4 MiB are read); NULL when absent.
 * Caller frees. Reads by hand, since /proc files report size 0. */
char *lab_host_read(const char *root, const char *abs);
int lab_host_exists(const char *root, const char *abs);
/* An executable `name` in one of PATH's directories (under the root); its
 * path (without the root) in `found`. */
int lab_host_in_path(const char *root, const char *name, char *found, size_t cap);
/* 1 when an NVIDIA PCI device (vendor 0x10de) shows under /sys/bus/pci. */
int lab_host_nvidia_pci_present(const char *root);

#endif
