/* Text from outside (archive member names, LMS file names) need not be
 * UTF-8, and JSON, XML and CSV readers reject or drop what is not: such
 * text is escaped, never dropped, before it reaches an output. */
#ifndef LAB_UTF8_H
#define LAB_UTF8_H

#include <stddef.h>

/* Length of the well-formed UTF-8 sequence at s (at most n bytes): 1 to 4,
 * or 0 when the bytes there are not one (overlong forms, surrogates and
 * code points past U+10FFFF included). */
size_t lab_utf8_seq(const char *s, size_t n);
/* 1 when all of s is well-formed UTF-8. */
int lab_utf8_valid(const char *s);
/* A malloc'd copy in which every byte that is not part of a well-formed
 * sequence is written as the four characters \xNN; NULL when out of memory. */
char *lab_utf8_escape(const char *s);

#endif
