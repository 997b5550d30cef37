/* Logging to stderr by LAB_LOG=debug|info|warn (default warn). */
#ifndef LAB_LOG_H
#define LAB_LOG_H

enum lab_log_level { LAB_LOG_DEBUG = 0, LAB_LOG_INFO = 1, LAB_LOG_WARN = 2 };

void lab_log_init(void); /* reads LAB_LOG; called once by main */
int lab_log_enabled(enum lab_log_level level);
void lab_log(enum lab_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lab_debug(...) lab_log(LAB_LOG_DEBUG, __VA_ARGS__)
#define lab_info(...) lab_log(LAB_LOG_INFO, __VA_ARGS__)
#define lab_warn(...) lab_log(LAB_LOG_WARN, __VA_ARGS__)

#endif
